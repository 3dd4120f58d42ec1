/**
 * Scenario 1 — overhead. Five healthy zero-latency endpoints, a fixed 2,000 rps for N seconds
 * through each proxy and directly to the simulator: the latency each proxy adds (p50, p99 over
 * the direct baseline measured in the same run) and its CPU time per 1,000 requests
 * (/proc/<pid>/stat utime+stime over the measured window, summed over the process tree).
 * A full run measures every system in three rounds and judges the goals on medians
 * (overhead-rounds.ts).
 */
import { figures, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import {
  type Ctx,
  directSystem,
  fmt,
  type Goal,
  runSystem,
  type Scenario,
  type ScenarioResult,
  targets,
} from "../lib/run.js";
import { r3 } from "../lib/stats.js";
import { haproxySystem } from "../systems/haproxy.js";
import { meshtuneSystem } from "../systems/meshtune.js";
import { nginxSystem } from "../systems/nginx.js";
import type { SystemDef } from "../systems/types.js";
import { ALL_COORDINATION_OFF, fiveEndpoints, pick } from "./common.js";
import { combineRounds, compareWithinRound, type Round, roundOrder } from "./overhead-rounds.js";

const RPS = 2_000;
/** Rounds in a full run (overhead-rounds.ts says why); --quick measures one. */
const ROUNDS = 3;

export const overhead: Scenario = {
  name: "overhead",
  title: "Proxy overhead at 2,000 rps",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const durS = ctx.quick ? 2 : 10;
    const warmS = ctx.quick ? 0.5 : 2;
    const rounds = ctx.quick ? 1 : ROUNDS;
    const systems = [
      directSystem,
      meshtuneSystem("meshtune", "meshtune"),
      meshtuneSystem("meshtune-coord-off", "meshtune (all coordination off)", { coordination: ALL_COORDINATION_OFF }),
      haproxySystem(),
      nginxSystem(),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: 0 } });
    const measure = (def: SystemDef, n: number) =>
      runSystem(ctx, rounds > 1 ? `overhead-round${n}` : "overhead", def, endpoints, {}, async (inst, sim) => {
        const urls = targets(inst, sim);
        await load({ urls, rps: RPS, durationMs: warmS * 1000, keepSamples: false });
        const cpu0 = inst.cpuMs();
        const t0 = performance.now();
        const run = await load({ urls, rps: RPS, durationMs: durS * 1000, keepSamples: false });
        const wallMs = performance.now() - t0;
        const cpuMs = inst.cpuMs() - cpu0;
        const f = figures(run);
        const completed = f.latencyMs.count;
        progress(
          `overhead${rounds > 1 ? ` round ${n}/${rounds}` : ""}: ${def.label}: p50 ${fmt(f.latencyMs.p50, 3)} ms, ` +
            `p99 ${fmt(f.latencyMs.p99, 3)} ms, cpu ${fmt(inst.pid ? (cpuMs / completed) * 1000 : null, 1)} ms/1k req, errors ${f.clientErrors}`,
        );
        return {
          ...f,
          cpuMs: inst.pid ? Math.round(cpuMs) : null,
          cpuMsPer1000Requests: inst.pid && completed > 0 ? r3((cpuMs / completed) * 1000) : null,
          cpuCoreUtilization: inst.pid ? r3(cpuMs / wallMs) : null,
          rssMiB: inst.pid ? inst.rssMiB() : null,
        };
      });
    const perRound: Round[] = [];
    for (let n = 1; n <= rounds; n++) {
      const round: Round = {};
      for (const def of roundOrder(systems, n)) round[def.id] = await measure(def, n);
      compareWithinRound(round);
      perRound.push(round);
    }
    const out: Record<string, Record<string, unknown>> = {};
    for (const def of systems)
      out[def.id] = combineRounds(
        def.label,
        perRound.map((r) => r[def.id]!),
      );
    const m = out.meshtune;
    const added = pick(m, "addedP50Ms");
    const added99 = pick(m, "addedP99Ms");
    const rss = pick(m, "rssMiB");
    const cpuM = pick(m, "cpuMsPer1000Requests");
    const cpuN = pick(out.nginx, "cpuMsPer1000Requests");
    const cpuRatio = pick(m, "cpuRatioToNginx");
    const perRoundOf = (id: string, key: string, d: number) =>
      ((out[id]?.rounds as Record<string, unknown>[] | undefined) ?? []).map((r) => fmt(pick(r, key), d)).join(", ");
    const roundsNote = (key: string) =>
      rounds > 1 ? ` (median of ${rounds} rounds: ${perRoundOf("meshtune", key, 2)})` : "";
    const goals: Goal[] = [
      {
        goal: "proxy overhead p50 ≤ 0.2 ms at 2k rps",
        system: "meshtune",
        target: "≤ 0.2 ms",
        value: added ?? null,
        met: added === undefined ? null : added <= 0.2,
        ...(rounds > 1 ? { note: roundsNote("addedP50Ms").trim() } : {}),
      },
      {
        goal: "proxy overhead p99 ≤ 2 ms at 2k rps",
        system: "meshtune",
        target: "≤ 2 ms",
        value: added99 ?? null,
        met: added99 === undefined ? null : added99 <= 2,
        ...(rounds > 1 ? { note: roundsNote("addedP99Ms").trim() } : {}),
      },
      {
        goal: "RSS ≤ 96 MiB at 2k rps",
        system: "meshtune",
        target: "≤ 96 MiB",
        value: rss ?? null,
        met: rss === undefined ? null : rss <= 96,
        note: `HAProxy ${fmt(pick(out.haproxy, "rssMiB"), 0)} MiB, NGINX ${fmt(pick(out.nginx, "rssMiB"), 0)} MiB${roundsNote("rssMiB")}`,
      },
      {
        goal: "CPU per request ≤ 2.5× NGINX's",
        system: "meshtune",
        target: "≤ 2.5× NGINX",
        value: cpuRatio ?? null,
        met: cpuRatio === undefined ? null : cpuRatio <= 2.5,
        note: `meshtune ${fmt(cpuM, 1)} vs NGINX ${fmt(cpuN, 1)} CPU-ms per 1,000 requests (medians); the ratio is the median of each round's own ratio${roundsNote("cpuRatioToNginx")}`,
      },
    ];
    return {
      title: this.title,
      description: `Five healthy endpoints (0 ms upstream latency), open-loop 2,000 rps. Added latency is each proxy's p50/p99 minus the direct run's in the same round; CPU is utime+stime of the proxy's process tree over the measured window. ${rounds > 1 ? `Every system is measured in ${rounds} rounds (fresh processes, the order reversed in even rounds); each figure is the median over the rounds, and ratios are the median of each round's own ratio.` : "One round (--quick)."}`,
      params: { rps: RPS, durationS: durS, warmupS: warmS, upstreamLatencyMs: 0, endpoints: 5, rounds },
      systems: out,
      goals,
      notes: Object.values(out).flatMap((f) =>
        Array.isArray(f.failedRounds)
          ? [`${f.label}: ${f.failedRounds.length} round(s) failed: ${f.failedRounds.join("; ")}`]
          : [],
      ),
    };
  },
  table(r) {
    const rows: { metric: string; values: Record<string, string> }[] = [];
    const add = (metric: string, key: string[], d = 3) =>
      rows.push({
        metric,
        values: Object.fromEntries(
          Object.entries(r.systems).map(([id, f]) => [id, f.error ? "FAILED" : fmt(pick(f, ...key), d)]),
        ),
      });
    add("p50 ms", ["latencyMs", "p50"]);
    add("p99 ms", ["latencyMs", "p99"]);
    add("added p50 ms", ["addedP50Ms"]);
    add("added p99 ms", ["addedP99Ms"]);
    add("CPU ms / 1k req", ["cpuMsPer1000Requests"], 1);
    add("RSS MiB", ["rssMiB"], 0);
    add("client errors", ["clientErrors"], 0);
    add("VM steal, cores", ["stolenCores"], 2);
    return rows;
  },
};
