/**
 * Rule 4: pool and timeout tuning for the whole cluster (issue #10; contracts
 * ClusterOverride.pool; docs/decisions/0011-forecast-and-pool-tuning.md).
 *
 *   connectTimeoutMs = clamp(q99(connect latency, long view, all endpoints) × margin, 250 ms, 10 s)
 *   maxConnectionsPerEndpoint = clamp(ceil(C × headroom), 8, 1024),  maxPendingRequests = same
 *   C = max over endpoints of the concurrency one proxy needs: L + 3√L with L = λ/proxies × W
 *       (Little's law; the Poisson 99.9 % bound), or (active + pending) per proxy when the pool
 *       already queues (in-flight snapshots of small integers are too noisy to size a pool on);
 *       nothing until the long view holds minAttemptSamples attempts (no traffic is no evidence)
 *
 * Why: a connect timeout shorter than the slow tail of a far-away service's handshakes fails
 * good connects; a much longer one makes every request to a black-holed endpoint wait for it
 * (DESIGN.md section 8, "no request waits on its connect timeout"). Three times p99 is the
 * usual rule of thumb for timeouts over an observed tail (e.g. gRPC's and Finagle's guidance
 * of a multiple of the tail); the clamp keeps one odd window from producing a silly value.
 * Up goes at once, down only to the highest value of the stabilisation window (as forecast.ts).
 * Only a change of ≥ hysteresis (20 %) of the current value is pushed; values are rounded
 * (10 ms under 1 s, 100 ms above) so noise in the tail does not produce new numbers.
 */
import type { EngineConfig } from "../config.js";
import { target } from "../state.js";
import { type ClusterStats, histogramQuantile } from "../stats.js";
import type { EngineState, Proposal, TargetState } from "../types.js";
import { RULES } from "../types.js";
import type { RuleContext } from "./context.js";
import { round } from "./context.js";
import { stabilise } from "./forecast.js";

export interface PoolFigures {
  connect?: { samples: number; p99Ms: number; wantedMs: number };
  concurrency?: { perProxy: number; endpoint: string; wanted: number; attempts: number };
}

function roundTimeout(ms: number): number {
  return ms < 1000 ? Math.ceil(ms / 10) * 10 : Math.ceil(ms / 100) * 100;
}

function connectFigures(stats: ClusterStats, config: EngineConfig): PoolFigures["connect"] {
  const c = config.pool;
  let merged: { bounds: readonly number[]; counts: number[]; count: number; sum: number } | undefined;
  for (const e of stats.endpoints.values()) {
    const h = e.long?.connectLatency;
    if (!h || h.count === 0) continue;
    if (!merged) merged = { bounds: h.bounds, counts: [...h.counts], count: h.count, sum: h.sum };
    else if (merged.bounds.length === h.bounds.length) {
      for (let i = 0; i < merged.counts.length; i++) merged.counts[i] = (merged.counts[i] ?? 0) + (h.counts[i] ?? 0);
      merged.count += h.count;
      merged.sum += h.sum;
    }
  }
  if (!merged || merged.count < c.minConnectSamples) return undefined;
  const q = histogramQuantile(merged, c.connectQuantile) ?? 0;
  const wanted = roundTimeout(
    Math.min(c.maxConnectTimeoutMs, Math.max(c.minConnectTimeoutMs, q * 1000 * c.connectMargin)),
  );
  return { samples: merged.count, p99Ms: round(q * 1000, 2), wantedMs: wanted };
}

function concurrencyFigures(stats: ClusterStats, config: EngineConfig): PoolFigures["concurrency"] {
  const c = config.pool;
  let best: { perProxy: number; endpoint: string } | undefined;
  let total = 0;
  let queueing = false;
  for (const e of stats.endpoints.values()) {
    const l = e.long;
    if (!l || l.proxiesReporting === 0) continue;
    const attempts = Object.values(l.attempts).reduce((a: number, b) => a + (b ?? 0), 0);
    total += attempts;
    const w = l.latency.count > 0 ? l.latency.sum / l.latency.count : 0;
    const little = (attempts / 60 / l.proxiesReporting) * w;
    // Concurrency of a Poisson arrival process with mean L stays under L + 3√L 99.9 % of the
    // time; a pool that already queues (pending > 0) shows its own figure.
    const queued = l.gauges.poolPending > 0 ? (l.gauges.poolActive + l.gauges.poolPending) / l.proxiesReporting : 0;
    if (queued > 0) queueing = true;
    const perProxy = Math.max(little + 3 * Math.sqrt(little), queued);
    if (!best || perProxy > best.perProxy) best = { perProxy, endpoint: e.endpoint };
  }
  // Few attempts are no evidence, unless a pool is already queueing: then the queue is (a slow,
  // low-rate service at its limit would otherwise never get a larger one).
  if (!best || (total < c.minAttemptSamples && !queueing)) return undefined;
  const wanted = Math.min(
    c.maxConnections,
    Math.max(c.minConnections, Math.ceil(best.perProxy * c.concurrencyHeadroom)),
  );
  return { ...best, perProxy: round(best.perProxy, 2), wanted, attempts: total };
}

/** Observation step: figures plus the stabilisation deques (state.cluster). */
export function advancePool(state: EngineState, stats: ClusterStats, config: EngineConfig, now: number): PoolFigures {
  const connect = connectFigures(stats, config);
  const concurrency = concurrencyFigures(stats, config);
  const win = config.pool.stabilisationMs;
  if (connect) {
    state.cluster.connectTimeoutMs ??= target(0);
    stabilise(state.cluster.connectTimeoutMs, connect.wantedMs, now, win);
  }
  if (concurrency) {
    state.cluster.maxConnections ??= target(0);
    stabilise(state.cluster.maxConnections, concurrency.wanted, now, win);
  }
  return { connect, concurrency };
}

/** Up at once, down to the window maximum; undefined when the change is below the hysteresis. */
function desired(t: TargetState, rec: number, hysteresis: number): number | undefined {
  if (t.value === 0) return rec;
  const d = rec >= t.value ? rec : (t.recs[0]?.[1] ?? rec);
  return Math.abs(d - t.value) >= hysteresis * t.value && d !== t.value ? d : undefined;
}

export function poolRule(ctx: RuleContext, fig: PoolFigures): Proposal[] {
  const out: Proposal[] = [];
  const c = ctx.config.pool;
  const ct = ctx.state.cluster.connectTimeoutMs;
  const next = fig.connect && ct ? desired(ct, fig.connect.wantedMs, c.hysteresis) : undefined;
  if (fig.connect && ct && next !== undefined) {
    const cur = ct.value === 0 ? undefined : ct.value;
    out.push({
      kind: "set_connect_timeout",
      rule: RULES.connectTimeout,
      reason: `connect p99 ${fig.connect.p99Ms} ms over ${fig.connect.samples} connects × margin ${c.connectMargin}, clamped to ${c.minConnectTimeoutMs}..${c.maxConnectTimeoutMs} ms: connect timeout ${cur ?? "as configured"} -> ${next} ms`,
      inputs: {
        view: "long (60 s)",
        connectSamples: fig.connect.samples,
        connectP99Ms: fig.connect.p99Ms,
        clusterProxies: ctx.stats.proxies,
      },
      before: { connectTimeoutMs: cur ?? null },
      after: { connectTimeoutMs: next },
      confidence: Math.min(1, fig.connect.samples / (c.minConnectSamples * 4)),
      counterfactual:
        cur === undefined || next < cur
          ? `Without it a request to a black-holed endpoint would wait up to the configured connect timeout${cur ? ` (${cur} ms)` : ""} instead of ${next} ms before failing over.`
          : `Without it connects slower than ${cur} ms would fail although the service's p99 connect is ${fig.connect.p99Ms} ms.`,
      effect: { type: "connectTimeout", value: next },
      direction: cur === undefined ? 1 : next > cur ? 1 : -1,
      urgent: false,
      guardrails: [],
    });
  }
  const mc = ctx.state.cluster.maxConnections;
  const nextMax = fig.concurrency && mc ? desired(mc, fig.concurrency.wanted, c.hysteresis) : undefined;
  if (fig.concurrency && mc && nextMax !== undefined) {
    const cur = mc.value === 0 ? undefined : mc.value;
    out.push({
      kind: "set_pool_limits",
      rule: RULES.poolLimits,
      reason: `peak concurrency ${fig.concurrency.perProxy} per proxy (endpoint ${fig.concurrency.endpoint}) × headroom ${c.concurrencyHeadroom}: max connections per endpoint ${cur ?? "as configured"} -> ${nextMax}`,
      inputs: {
        view: "long (60 s)",
        concurrencyPerProxy: fig.concurrency.perProxy,
        attempts: fig.concurrency.attempts,
        busiestEndpoint: fig.concurrency.endpoint,
        clusterProxies: ctx.stats.proxies,
      },
      before: {
        maxConnectionsPerEndpoint: cur ?? null,
        maxPendingRequests: ctx.state.cluster.maxPending?.value ?? null,
      },
      after: { maxConnectionsPerEndpoint: nextMax, maxPendingRequests: nextMax },
      confidence: Math.min(1, fig.concurrency.attempts / (c.minAttemptSamples * 4)),
      counterfactual: `Without it a burst of ${nextMax} concurrent requests per proxy would queue behind ${cur ?? "the configured"} connections (or be refused past the pending limit).`,
      effect: { type: "poolLimits", maxConnections: nextMax, maxPending: nextMax },
      direction: cur === undefined || nextMax > cur ? 1 : -1,
      urgent: false,
      guardrails: [],
    });
  }
  return out;
}
