/**
 * The overhead scenario's rounds (pure): each round measures every system once; the figures a
 * goal is judged on are medians over the rounds, and the same-round comparisons (added latency
 * over the direct run, CPU per request over NGINX's) are taken per round before the median, so
 * a slow minute of this shared VM moves one round of every ratio, not the verdict.
 *
 * Why rounds: one 10 s run per system is not enough on this machine. The CPU ratio to NGINX
 * was 2.8 in the committed full run of 2026-12-02 07:02 and 1.89 in a single run two hours
 * later with the same code (NGINX itself 59.5 → 107.5 CPU-ms per 1,000 requests); RSS moved
 * 100–106 MiB between identical runs.
 */
import type { Summary } from "../lib/stats.js";
import { median, r3, ratio } from "../lib/stats.js";
import { pick } from "./common.js";

/** One round: each system's figures (runSystem's result: figures, or `{ error }`, or `{ skipped }`). */
export type Round = Record<string, Record<string, unknown>>;

const PERCENTILES = ["p50", "p90", "p99", "p999", "max", "mean"] as const;

/** Adds the same-round comparisons to every proxy of the round (in place): added p50/p99 over `direct`, CPU ÷ NGINX's. */
export function compareWithinRound(round: Round): void {
  const base = round.direct;
  const nginxCpu = pick(round.nginx, "cpuMsPer1000Requests");
  for (const [id, f] of Object.entries(round)) {
    if (id === "direct" || f.error || f.skipped) continue;
    const diff = (p: "p50" | "p99") => {
      const own = pick(f, "latencyMs", p);
      const b = pick(base, "latencyMs", p);
      return own !== undefined && b !== undefined ? r3(own - b) : null;
    };
    f.addedP50Ms = diff("p50");
    f.addedP99Ms = diff("p99");
    const cpu = pick(f, "cpuMsPer1000Requests");
    f.cpuRatioToNginx = cpu !== undefined && nginxCpu !== undefined ? ratio(cpu, nginxCpu) : null;
  }
}

const med = (rounds: Record<string, unknown>[], ...keys: string[]): number | null =>
  median(rounds.map((r) => pick(r, ...keys)).filter((x): x is number => x !== undefined));

function sumMaps(maps: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps)
    if (m && typeof m === "object")
      for (const [k, v] of Object.entries(m)) if (typeof v === "number") out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * One system's figures over its rounds: medians of every latency percentile, of the added
 * latency, CPU, CPU ratio and RSS; client errors summed (an error in any round counts); each
 * round's own figures under `rounds`. A round that failed is left out of the medians and
 * listed; the system is failed only when every round failed.
 */
export function combineRounds(label: string, rounds: Record<string, unknown>[]): Record<string, unknown> {
  if (rounds.length > 0 && rounds.every((r) => r.skipped)) return { label, skipped: true };
  const ok = rounds.filter((r) => !r.error && !r.skipped);
  const failed = rounds.filter((r) => r.error).map((r) => String(r.error).split("\n")[0]);
  if (ok.length === 0) return { label, error: failed[0] ?? "no round completed", failedRounds: failed };
  const latencyMs: Partial<Summary> = {
    count: ok.reduce((a, r) => a + (pick(r, "latencyMs", "count") ?? 0), 0),
  };
  for (const p of PERCENTILES) latencyMs[p] = med(ok, "latencyMs", p) ?? 0;
  return {
    label,
    latencyMs,
    addedP50Ms: med(ok, "addedP50Ms"),
    addedP99Ms: med(ok, "addedP99Ms"),
    cpuMsPer1000Requests: med(ok, "cpuMsPer1000Requests"),
    cpuRatioToNginx: med(ok, "cpuRatioToNginx"),
    cpuCoreUtilization: med(ok, "cpuCoreUtilization"),
    rssMiB: med(ok, "rssMiB"),
    stolenCores: med(ok, "stolenCores"),
    requests: ok.reduce((a, r) => a + (pick(r, "requests") ?? 0), 0),
    clientErrors: ok.reduce((a, r) => a + (pick(r, "clientErrors") ?? 0), 0),
    errors: sumMaps(ok.map((r) => r.errors)),
    statuses: sumMaps(ok.map((r) => r.statuses)),
    ...(failed.length > 0 ? { failedRounds: failed } : {}),
    rounds: ok.map((r) => ({
      p50Ms: pick(r, "latencyMs", "p50") ?? null,
      p99Ms: pick(r, "latencyMs", "p99") ?? null,
      addedP50Ms: pick(r, "addedP50Ms") ?? null,
      addedP99Ms: pick(r, "addedP99Ms") ?? null,
      cpuMsPer1000Requests: pick(r, "cpuMsPer1000Requests") ?? null,
      cpuRatioToNginx: pick(r, "cpuRatioToNginx") ?? null,
      rssMiB: pick(r, "rssMiB") ?? null,
      clientErrors: pick(r, "clientErrors") ?? null,
      backgroundCores: r.backgroundCores ?? null,
      stolenCores: pick(r, "stolenCores") ?? null,
    })),
  };
}

/** Round n's order: odd rounds as listed, even rounds reversed, so a drift of the machine over the scenario does not always fall on the same system. */
export function roundOrder<T>(systems: readonly T[], n: number): T[] {
  return n % 2 === 1 ? [...systems] : [...systems].reverse();
}
