/**
 * Machine-wide CPU accounting, to tell a clean measurement from one disturbed by other work on
 * the same machine: busy CPU from /proc/stat minus what the benchmark's own processes used,
 * and the time the hypervisor gave this VM's CPUs to others (steal), which no process here
 * shows: on this 2-core VM it was ~0 idle and 0–0.28 cores per run while a bench ran (2026-12-02).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { progress, sleep } from "./log.js";
import { treeCpuMs } from "./procs.js";

interface Snap {
  at: number;
  busyMs: number;
  stealMs: number;
  ownMs: number;
}

/** Busy and stolen CPU time of the whole machine (ms, all CPUs) from /proc/stat's first line. */
function machineMs(): { busyMs: number; stealMs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (USER_HZ = 100 ticks per second)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return { busyMs: ((user + nice + system + irq + softirq) * 1000) / 100, stealMs: (steal * 1000) / 100 };
}

function ownMs(pids: number[]): number {
  const self = process.cpuUsage();
  return (self.user + self.system) / 1000 + pids.reduce((a, p) => a + treeCpuMs(p), 0);
}

export function snapshot(pids: number[]): Snap {
  return { at: performance.now(), ...machineMs(), ownMs: ownMs(pids) };
}

/** `ms` of CPU time spread over `wallMs` of wall time, in cores (two decimals, never below 0). */
export function coresOver(ms: number, wallMs: number): number {
  return wallMs > 0 ? Math.max(0, Math.round((ms / wallMs) * 100) / 100) : 0;
}

/** Cores used by processes other than the benchmark's own between the two snapshots. */
export function otherCores(a: Snap, b: Snap): number {
  return coresOver(b.busyMs - a.busyMs - (b.ownMs - a.ownMs), b.at - a.at);
}

/** Cores' worth of CPU time the hypervisor stole from this VM between the two snapshots. */
export function stolenCores(a: Snap, b: Snap): number {
  return coresOver(b.stealMs - a.stealMs, b.at - a.at);
}

/**
 * Waits (bounded) until other processes use less than `maxCores` for a one-second sample, so
 * a measurement does not start in the middle of someone's build. Returns the last reading.
 */
export async function waitQuiet(maxCores: number, maxWaitMs: number, pids: number[] = []): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  let said = false;
  for (;;) {
    const a = snapshot(pids);
    await sleep(maxWaitMs > 0 ? 1_000 : 300);
    const busy = otherCores(a, snapshot(pids));
    if (busy <= maxCores || performance.now() >= deadline) {
      if (said) progress(`machine: other processes now use ${busy} cores; going on`);
      return busy;
    }
    if (!said) {
      progress(
        `machine: other processes use ${busy} of ${os.availableParallelism()} cores; waiting up to ${Math.round(maxWaitMs / 1000)} s for them to settle`,
      );
      said = true;
    }
  }
}
