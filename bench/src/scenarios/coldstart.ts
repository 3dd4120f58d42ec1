/**
 * Scenario 6 — cold start with TLS. HTTPS upstreams add 50 ms to every new connection's TLS
 * handshake (tlsDelayMs). Load starts as soon as the system is ready; p99 of the first 1,000
 * requests is compared with the warm p99 of the same run (after a warm-up period).
 */
import { figures, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import { type Ctx, fmt, type Goal, runSystem, type Scenario, type ScenarioResult, targets } from "../lib/run.js";
import { haproxySystem } from "../systems/haproxy.js";
import { meshtuneSystem } from "../systems/meshtune.js";
import { nginxSystem } from "../systems/nginx.js";
import { fiveEndpoints, pick } from "./common.js";

const RPS = 500;
const UPSTREAM_MS = 5;
const TLS_DELAY_MS = 50;
const COLD_REQUESTS = 1_000;

export const coldstart: Scenario = {
  name: "coldstart",
  title: "Cold start with TLS (+50 ms handshake)",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const warmupS = ctx.quick ? 2 : 5;
    const warmS = ctx.quick ? 2 : 4;
    const systems = [
      meshtuneSystem("meshtune", "meshtune (minWarm 2)", { probe: true }),
      meshtuneSystem("meshtune-minwarm0", "meshtune (minWarm 0, LB-directed warm-up)", { probe: true, minWarm: 0 }),
      meshtuneSystem("meshtune-lazy", "meshtune (minWarm 0, lbDirectedWarmup off: lazy, Envoy-like)", {
        probe: true,
        minWarm: 0,
        coordination: { lbDirectedWarmup: false },
      }),
      meshtuneSystem("meshtune-no-lb-warmup", "meshtune (minWarm 2, lbDirectedWarmup off)", {
        probe: true,
        coordination: { lbDirectedWarmup: false },
      }),
      haproxySystem(),
      nginxSystem(),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: UPSTREAM_MS }, tlsDelayMs: TLS_DELAY_MS }, "https");
    const out: Record<string, Record<string, unknown>> = {};
    const coldMs = (COLD_REQUESTS / RPS) * 1000;
    for (const def of systems) {
      out[def.id] = await runSystem(ctx, "coldstart", def, endpoints, { tls: true }, async (inst, sim) => {
        const totalMs = coldMs + (warmupS + warmS) * 1000;
        const run = await load({ urls: targets(inst, sim), rps: RPS, durationMs: totalMs });
        const warmFrom = coldMs + warmupS * 1000;
        const cold = figures(run, (s) => s.index < COLD_REQUESTS);
        const warm = figures(run, (s) => s.at >= warmFrom);
        const ratio = warm.latencyMs.p99 > 0 ? Math.round((cold.latencyMs.p99 / warm.latencyMs.p99) * 100) / 100 : null;
        const slowCold = run.samples.filter((s) => s.index < COLD_REQUESTS && s.latency >= TLS_DELAY_MS).length;
        const stats = await sim.status();
        progress(
          `coldstart: ${def.label}: cold p99 ${fmt(cold.latencyMs.p99)} ms, warm p99 ${fmt(warm.latencyMs.p99)} ms, ratio ${fmt(ratio)}, ${slowCold} of the first ${COLD_REQUESTS} ≥ ${TLS_DELAY_MS} ms`,
        );
        return {
          cold,
          warm,
          coldP99Ms: cold.latencyMs.p99,
          warmP99Ms: warm.latencyMs.p99,
          p99Ratio: ratio,
          coldRequestsPayingHandshake: slowCold,
          tlsHandshakes: stats.reduce((a, e) => a + e.stats.tlsHandshakes, 0),
          clientErrors: cold.clientErrors + warm.clientErrors,
        };
      });
    }
    const ratio = pick(out.meshtune, "p99Ratio");
    const goals: Goal[] = [
      {
        goal: "cold start, TLS, +50 ms handshake: p99 of the first 1,000 requests ≤ 1.1× warm p99",
        system: "meshtune",
        target: "≤ 1.1×",
        value: ratio ?? null,
        met: ratio === undefined ? null : ratio <= 1.1,
      },
    ];
    return {
      title: this.title,
      description: `Five HTTPS endpoints (${UPSTREAM_MS} ms responses, +${TLS_DELAY_MS} ms on every new connection's TLS handshake, verified against the test CA). Open-loop ${RPS} rps from the moment the system is ready: the first ${COLD_REQUESTS} requests are "cold"; after ${warmupS} s more, ${warmS} s are "warm".`,
      params: {
        rps: RPS,
        upstreamMs: UPSTREAM_MS,
        tlsDelayMs: TLS_DELAY_MS,
        coldRequests: COLD_REQUESTS,
        warmupS,
        warmS,
      },
      systems: out,
      goals,
      notes: [
        "HAProxy verifies the upstream against the test CA (verify required, verifyhost localhost); NGINX with proxy_ssl_verify on; both reuse TLS sessions.",
      ],
    };
  },
  table(r) {
    const row = (metric: string, f: (x: Record<string, unknown>) => string) => ({
      metric,
      values: Object.fromEntries(Object.entries(r.systems).map(([id, x]) => [id, x.error ? "FAILED" : f(x)])),
    });
    return [
      row("cold p99 ms (first 1k)", (x) => fmt(pick(x, "coldP99Ms"))),
      row("warm p99 ms", (x) => fmt(pick(x, "warmP99Ms"))),
      row("cold/warm p99", (x) => fmt(pick(x, "p99Ratio"))),
      row("first 1k ≥ 50 ms", (x) => fmt(pick(x, "coldRequestsPayingHandshake"), 0)),
      row("client errors", (x) => fmt(pick(x, "clientErrors"), 0)),
    ];
  },
};
