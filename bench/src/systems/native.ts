/**
 * Starting a native proxy (HAProxy, NGINX) the same way: spawn it, wait until its listener
 * accepts (or it exits), and describe it as a ProxyInstance whose CPU and memory are read
 * from its process tree.
 */
import { waitFor } from "../lib/log.js";
import { canConnect } from "../lib/ports.js";
import { spawnManaged, tailLog, treeCpuMs, treeRssMiB } from "../lib/procs.js";
import type { ProxyInstance } from "./types.js";

export async function startNativeProxy(o: {
  system: ProxyInstance["system"];
  label: string;
  command: string;
  args: string[];
  logFile: string;
  cpus: string | undefined;
  listen: number;
  /** Extra log files whose tails explain a failed start. */
  extraLogs?: string[];
}): Promise<ProxyInstance> {
  const t0 = performance.now();
  const proc = spawnManaged({ name: o.system, command: o.command, args: o.args, logFile: o.logFile, cpus: o.cpus });
  const ok = await waitFor(
    async () => {
      if (proc.exitCode() !== undefined) throw new Error("exited");
      return canConnect(o.listen);
    },
    10_000,
    5,
  );
  if (!ok) {
    await proc.stop();
    const logs = [proc.logFile, ...(o.extraLogs ?? [])].map((f) => tailLog(f)).join("\n");
    throw new Error(`${o.system} did not listen (exit ${proc.exitCode() ?? "none"}):\n${logs}`);
  }
  return {
    system: o.system,
    label: o.label,
    port: o.listen,
    pid: proc.pid,
    readyMs: performance.now() - t0,
    cpuMs: () => treeCpuMs(proc.pid),
    rssMiB: () => treeRssMiB(proc.pid),
    stop: () => proc.stop(),
  };
}
