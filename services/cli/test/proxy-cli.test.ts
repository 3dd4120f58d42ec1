/**
 * `meshtune proxy` as an operator runs it: a child process with a YAML file. Invalid input is
 * refused with path and reason; the file is reloaded on change and on SIGHUP, keeping the last
 * good config when the new one is bad; SIGTERM drains in-flight requests and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "meshtune-cli-"));
const children: ChildProcess[] = [];
let s: Simulator;

beforeAll(async () => {
  s = await startSimulatorWith([{ name: "a" }, { name: "b" }]);
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function config(policy = "round_robin", extra: Record<string, unknown> = {}) {
  const [listener, adminPort] = [await freePort(), await freePort()];
  return {
    listener,
    adminPort,
    doc: {
      apiVersion: "meshtune.io/v1alpha1",
      kind: "ProxyConfig",
      proxy: { listener: { port: listener }, admin: { port: adminPort }, drainTimeoutMs: 3000 },
      clusters: [
        {
          name: "api",
          discovery: { type: "static", endpoints: s.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })) },
          lb: { policy },
          healthCheck: { intervalMs: 60_000 },
          ...extra,
        },
      ],
    },
  };
}

function run(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitReady(adminPort: number, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await request(`http://127.0.0.1:${adminPort}/ready`);
      await r.body.dump();
      if (r.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("proxy did not become ready");
}

async function appliedVersion(adminPort: number): Promise<{ version: number; policy: string }> {
  const r = await request(`http://127.0.0.1:${adminPort}/config`);
  const j = (await r.body.json()) as { version: number; config: { clusters: { lb: { policy: string } }[] } };
  return { version: j.version, policy: j.config.clusters[0]!.lb.policy };
}

async function until(fn: () => Promise<boolean>, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met");
}

describe("meshtune proxy (CLI)", () => {
  it("refuses an invalid config with path and reason, and starts nothing", async () => {
    const { doc } = await config();
    const bad = structuredClone(doc) as { clusters: { pool?: unknown; lb: { policy: string } }[] };
    bad.clusters[0]!.lb.policy = "fastest";
    bad.clusters[0]!.pool = { minWarm: 9, maxConnections: 2 };
    const file = join(dir, "bad.yaml");
    writeFileSync(file, stringify(bad));
    const p = run(["proxy", "--config", file]);
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/clusters\[0\]\.lb\.policy: /);
    expect(p.output()).not.toMatch(/\n\s+at /); // no stack trace
    const missing = run(["proxy", "--config", join(dir, "nope.yaml")]);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/nope\.yaml/);
    // Cross-field checks run once the fields themselves are valid.
    bad.clusters[0]!.lb.policy = "random";
    const file2 = join(dir, "bad2.yaml");
    writeFileSync(file2, stringify(bad));
    const v = run(["validate", file2]);
    expect(await v.exited).toBe(1);
    expect(v.output()).toMatch(/minWarm \(9\) exceeds maxConnections \(2\)/);
  });

  it("reloads on file change and SIGHUP; a bad file keeps the last good config", async () => {
    const { doc, adminPort } = await config("round_robin");
    const file = join(dir, "reload.yaml");
    writeFileSync(file, stringify(doc));
    const p = run(["proxy", "--config", file]);
    await waitReady(adminPort);
    expect(await appliedVersion(adminPort)).toEqual({ version: 1, policy: "round_robin" });

    doc.clusters[0]!.lb.policy = "random";
    writeFileSync(file, stringify(doc));
    await until(async () => (await appliedVersion(adminPort)).policy === "random");

    // Editors and ConfigMaps replace the file atomically: the watch must survive that.
    doc.clusters[0]!.lb.policy = "round_robin";
    writeFileSync(`${file}.tmp`, stringify(doc));
    renameSync(`${file}.tmp`, file);
    await until(async () => (await appliedVersion(adminPort)).policy === "round_robin");
    doc.clusters[0]!.lb.policy = "random";
    writeFileSync(file, stringify(doc));
    await until(async () => (await appliedVersion(adminPort)).policy === "random");

    writeFileSync(file, "apiVersion: meshtune.io/v1alpha1\nkind: ProxyConfig\nclusters: []\n");
    p.child.kill("SIGHUP");
    await until(async () => /reload rejected/.test(p.output()));
    expect((await appliedVersion(adminPort)).policy).toBe("random");

    doc.clusters[0]!.lb.policy = "least_request";
    writeFileSync(file, stringify(doc));
    p.child.kill("SIGHUP");
    await until(async () => (await appliedVersion(adminPort)).policy === "least_request");
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  it("SIGTERM drains in-flight requests: all succeed, exit 0", async () => {
    s.endpoint("a").setFaults({ latency: { dist: "fixed", ms: 400 } });
    s.endpoint("b").setFaults({ latency: { dist: "fixed", ms: 400 } });
    try {
      const { doc, adminPort, listener } = await config("round_robin");
      const file = join(dir, "drain.yaml");
      writeFileSync(file, stringify(doc));
      const p = run(["proxy", "--config", file]);
      await waitReady(adminPort);
      const inflight = Array.from({ length: 20 }, () =>
        request(`http://127.0.0.1:${listener}/`, { headers: { host: "api.example.com" } }).then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        }),
      );
      await new Promise((r) => setTimeout(r, 150));
      p.child.kill("SIGTERM");
      const statuses = await Promise.all(inflight);
      expect(statuses).toEqual(Array(20).fill(200));
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/"inFlightAtDeadline":0/);
    } finally {
      s.endpoint("a").setFaults({ latency: { dist: "fixed", ms: 0 } });
      s.endpoint("b").setFaults({ latency: { dist: "fixed", ms: 0 } });
    }
  });

  it("runs with V8's young generation capped, in the same process; 0 keeps Node's sizing; bad values refused", async () => {
    // The cap is the RSS goal's main lever (issue #15, heap-flags.ts): it must reach the
    // process that serves traffic, under the pid the operator started (signals, supervisors).
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    for (const [args, expected] of [
      [[], "--max-semi-space-size=4"],
      [["--max-semi-space-mib", "2"], "--max-semi-space-size=2"],
      [["--max-semi-space-mib", "0"], undefined],
    ] as const) {
      const { doc, adminPort } = await config();
      const file = join(dir, `heap-${args.join("")}.yaml`);
      writeFileSync(file, stringify(doc));
      const p = run(["proxy", "--config", file, ...args]);
      await waitReady(adminPort);
      const flags = cmdline(p.child.pid!).filter((a) => a.startsWith("--max-semi-space-size"));
      expect(flags).toEqual(expected === undefined ? [] : [expected]);
      const environ = readFileSync(`/proc/${p.child.pid}/environ`, "utf8").split("\0");
      expect(environ.includes("MALLOC_ARENA_MAX=2")).toBe(expected !== undefined);
      expect(environ.includes("MALLOC_TRIM_THRESHOLD_=131072")).toBe(expected !== undefined);
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
    const bad = run(["proxy", "--config", join(dir, "unused.yaml"), "--max-semi-space-mib", "lots"]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--max-semi-space-mib must be an integer from 0 to 1024/);
  });

  it("--help tells the truth", async () => {
    const p = run(["proxy", "--help"]);
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/SIGHUP reloads/);
    expect(p.output()).toMatch(/--max-semi-space-mib N/);
    const top = run(["--help"]);
    expect(await top.exited).toBe(0);
    expect(top.output()).toMatch(/proxy --config FILE/);
  });
});
