/**
 * Scenario 4 — one slow endpoint (+50 ms) of five. For each system two runs on a fresh
 * simulator and proxy: all five fast, then the same with one slow. Reports p99 of both, their
 * ratio, and the share of requests the slow endpoint served (x-sim-endpoint response header).
 */
import { figures, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import {
  type Ctx,
  fmt,
  type Goal,
  rowsOf,
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
import { fiveEndpoints, pick } from "./common.js";

const RPS = 500;
const FAST_MS = 2;
const SLOW_EXTRA_MS = 50;
const SLOW = "e5";

export const slow: Scenario = {
  name: "slow",
  title: "One slow endpoint (+50 ms) of five",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const durS = ctx.quick ? 2 : 8;
    const systems: SystemDef[] = [
      meshtuneSystem("meshtune", "meshtune", { probe: true }),
      meshtuneSystem("meshtune-no-pool-score", "meshtune (poolAwareScore off)", {
        probe: true,
        coordination: { poolAwareScore: false },
      }),
      haproxySystem(),
      nginxSystem(),
    ];
    const fast = { latency: { dist: "fixed" as const, ms: FAST_MS } };
    const allFast = fiveEndpoints(fast);
    const oneSlow = fiveEndpoints(fast, "http1", {
      [SLOW]: { latency: { dist: "fixed", ms: FAST_MS + SLOW_EXTRA_MS } },
    });
    const out: Record<string, Record<string, unknown>> = {};
    for (const def of systems) {
      const measure = (eps: typeof allFast, tag: string) =>
        runSystem(ctx, `slow-${tag}`, def, eps, {}, async (inst, sim) => {
          const run = await load({ urls: targets(inst, sim), rps: RPS, durationMs: durS * 1000, keepSamples: false });
          const f = figures(run);
          const served = f.byEndpoint[SLOW] ?? 0;
          const share = f.latencyMs.count > 0 ? served / f.latencyMs.count : 0;
          progress(
            `slow: ${def.label} (${tag}): p99 ${fmt(f.latencyMs.p99)} ms, ${SLOW} share ${(share * 100).toFixed(2)}%`,
          );
          return { ...f, slowEndpointShare: r3(share), slowEndpointRequests: served };
        });
      const a = await measure(allFast, "all-fast");
      const b = await measure(oneSlow, "one-slow");
      const pa = pick(a, "latencyMs", "p99");
      const pb = pick(b, "latencyMs", "p99");
      out[def.id] = {
        label: def.label,
        allFast: a,
        oneSlow: b,
        allFastP99Ms: pa ?? null,
        oneSlowP99Ms: pb ?? null,
        p99Ratio: pa && pb !== undefined ? Math.round((pb / pa) * 100) / 100 : null,
        slowEndpointShare: pick(b, "slowEndpointShare") ?? null,
        ...(a.error || b.error ? { error: String(a.error ?? b.error) } : {}),
      };
    }
    const m = out.meshtune;
    const ratio = pick(m, "p99Ratio");
    const share = pick(m, "slowEndpointShare");
    const goals: Goal[] = [
      {
        goal: "one slow endpoint (+50 ms) of five: p99 within 1.5× of the all-fast p99",
        system: "meshtune",
        target: "≤ 1.5×",
        value: ratio ?? null,
        met: ratio === undefined ? null : ratio <= 1.5,
      },
      {
        goal: "one slow endpoint (+50 ms) of five: under 1% of requests reach the slow one",
        system: "meshtune",
        target: "< 1%",
        value: share === undefined ? null : `${(share * 100).toFixed(2)}%`,
        met: share === undefined ? null : share < 0.01,
      },
    ];
    return {
      title: this.title,
      description: `Five http1 endpoints at ${FAST_MS} ms; in the second run ${SLOW} answers in ${FAST_MS + SLOW_EXTRA_MS} ms. Open-loop ${RPS} rps for ${durS} s per run, fresh simulator and proxy per run.`,
      params: { rps: RPS, durationS: durS, fastMs: FAST_MS, slowMs: FAST_MS + SLOW_EXTRA_MS, slowEndpoint: SLOW },
      systems: out,
      goals,
      notes: [
        "meshtune's latency-based outlier ejection is off in every bench config, so this measures the balancer alone.",
      ],
    };
  },
  table(r) {
    const row = rowsOf(r);
    return [
      row("all-fast p99 ms", (x) => fmt(pick(x, "allFastP99Ms"))),
      row("one-slow p99 ms", (x) => fmt(pick(x, "oneSlowP99Ms"))),
      row("p99 ratio", (x) => fmt(pick(x, "p99Ratio"))),
      row("share to slow", (x) => {
        const s = pick(x, "slowEndpointShare");
        return s === undefined ? "-" : `${(s * 100).toFixed(2)}%`;
      }),
    ];
  },
};
