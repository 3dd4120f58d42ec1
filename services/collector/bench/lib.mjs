// Measurement helpers of the collector benchmark (run.mjs): processes, CPU time, RSS, rates.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { serializeMetrics } from "./payloads.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const hasTaskset = (() => {
  try {
    execFileSync("sh", ["-c", "command -v taskset"]);
    return true;
  } catch {
    return false;
  }
})();
export const pinned = (cpu, cmd, args) => (hasTaskset ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args]);
export const TICK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
export const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK;
};
export const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
export const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Per CPU-second of this process (process.cpuUsage), so other work on a shared machine does
// not count against the figure; wall-clock rate alongside.
export function rate(label, fn, units, ms) {
  for (let i = 0; i < 20; i++) fn(); // warm-up (JIT)
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    fn();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const r = {
    label,
    perCpuSecond: Math.round((n * units) / cpu),
    perSecond: Math.round((n * units) / s),
    iterations: n,
  };
  console.log(
    `${label}: ${r.perCpuSecond.toLocaleString("en")} per CPU-second (${r.perSecond.toLocaleString("en")}/s wall)`,
  );
  return r;
}

/**
 * The same export for many proxies: serialized once with a placeholder id of the same length,
 * which is then overwritten in place (a protobuf string of equal length changes no other byte).
 * Serializing 1,000 points takes the SDK 10-20 ms, too slow to make 100 distinct exports a second.
 */
export const ID_WIDTH = 6;
export const proxyId = (p) => `p${String(p).padStart(ID_WIDTH - 1, "0")}`;
export function exportsFor(rm) {
  const placeholder = "p".repeat(ID_WIDTH);
  const template = Buffer.from(serializeMetrics(rm, placeholder));
  const at = template.indexOf(placeholder);
  return (id) => {
    const b = Buffer.from(template);
    b.write(id, at);
    return b;
  };
}

export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};
