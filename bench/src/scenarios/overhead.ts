/**
 * Scenario 1 — overhead. Five healthy zero-latency endpoints, a fixed 2,000 rps for N seconds
 * through each proxy and directly to the simulator: the latency each proxy adds (p50, p99 over
 * the direct baseline measured in the same run) and its CPU time per 1,000 requests
 * (/proc/<pid>/stat utime+stime over the measured window, summed over the process tree).
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
import { ALL_COORDINATION_OFF, fiveEndpoints, pick } from "./common.js";

const RPS = 2_000;

export const overhead: Scenario = {
  name: "overhead",
  title: "Proxy overhead at 2,000 rps",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const durS = ctx.quick ? 2 : 10;
    const warmS = ctx.quick ? 0.5 : 2;
    const systems = [
      directSystem,
      meshtuneSystem("meshtune", "meshtune"),
      meshtuneSystem("meshtune-coord-off", "meshtune (all coordination off)", { coordination: ALL_COORDINATION_OFF }),
      haproxySystem(),
      nginxSystem(),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: 0 } });
    const out: Record<string, Record<string, unknown>> = {};
    for (const def of systems) {
      out[def.id] = await runSystem(ctx, "overhead", def, endpoints, {}, async (inst, sim) => {
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
          `overhead: ${def.label}: p50 ${fmt(f.latencyMs.p50, 3)} ms, p99 ${fmt(f.latencyMs.p99, 3)} ms, ` +
            `cpu ${fmt(inst.pid ? (cpuMs / completed) * 1000 : null, 1)} ms/1k req, errors ${f.clientErrors}`,
        );
        return {
          ...f,
          cpuMs: inst.pid ? Math.round(cpuMs) : null,
          cpuMsPer1000Requests: inst.pid && completed > 0 ? r3((cpuMs / completed) * 1000) : null,
          cpuCoreUtilization: inst.pid ? r3(cpuMs / wallMs) : null,
          rssMiB: inst.pid ? inst.rssMiB() : null,
        };
      });
    }
    const base = out.direct;
    for (const [id, f] of Object.entries(out)) {
      if (id === "direct" || f.error) continue;
      const p50 = pick(f, "latencyMs", "p50");
      const p99 = pick(f, "latencyMs", "p99");
      const b50 = pick(base, "latencyMs", "p50");
      const b99 = pick(base, "latencyMs", "p99");
      f.addedP50Ms = p50 !== undefined && b50 !== undefined ? r3(p50 - b50) : null;
      f.addedP99Ms = p99 !== undefined && b99 !== undefined ? r3(p99 - b99) : null;
    }
    const m = out.meshtune;
    const added = pick(m, "addedP50Ms");
    const added99 = pick(m, "addedP99Ms");
    const rss = pick(m, "rssMiB");
    const cpuM = pick(m, "cpuMsPer1000Requests");
    const cpuN = pick(out.nginx, "cpuMsPer1000Requests");
    const cpuRatio = cpuM !== undefined && cpuN ? Math.round((cpuM / cpuN) * 100) / 100 : undefined;
    const goals: Goal[] = [
      {
        goal: "proxy overhead p50 ≤ 0.2 ms at 2k rps",
        system: "meshtune",
        target: "≤ 0.2 ms",
        value: added ?? null,
        met: added === undefined ? null : added <= 0.2,
      },
      {
        goal: "proxy overhead p99 ≤ 2 ms at 2k rps",
        system: "meshtune",
        target: "≤ 2 ms",
        value: added99 ?? null,
        met: added99 === undefined ? null : added99 <= 2,
      },
      {
        goal: "RSS ≤ 96 MiB at 2k rps",
        system: "meshtune",
        target: "≤ 96 MiB",
        value: rss ?? null,
        met: rss === undefined ? null : rss <= 96,
        note: `HAProxy ${fmt(pick(out.haproxy, "rssMiB"), 0)} MiB, NGINX ${fmt(pick(out.nginx, "rssMiB"), 0)} MiB`,
      },
      {
        goal: "CPU per request ≤ 2.5× NGINX's",
        system: "meshtune",
        target: "≤ 2.5× NGINX",
        value: cpuRatio ?? null,
        met: cpuRatio === undefined ? null : cpuRatio <= 2.5,
        note: `meshtune ${fmt(cpuM, 1)} vs NGINX ${fmt(cpuN, 1)} CPU-ms per 1,000 requests`,
      },
    ];
    return {
      title: this.title,
      description:
        "Five healthy endpoints (0 ms upstream latency), open-loop 2,000 rps. Added latency is each proxy's p50/p99 minus the direct run's in the same benchmark; CPU is utime+stime of the proxy's process tree over the measured window.",
      params: { rps: RPS, durationS: durS, warmupS: warmS, upstreamLatencyMs: 0, endpoints: 5 },
      systems: out,
      goals,
      notes: [],
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
    return rows;
  },
};
