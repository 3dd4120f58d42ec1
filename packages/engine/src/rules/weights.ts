/**
 * Rule 2: pressure-weighted weights (issue #10; formula and the reason for each term in
 * docs/decisions/0010-pressure-weights.md). For every endpoint with enough attempts in the
 * short view:
 *
 *   cost   = (L_e / L_med) · (1 + q·X_e) · (1 + p·P_e) · (1 + k_e·E_e)
 *   target = clamp(W_default / cost, W_floor, W_max)
 *   next   = clamp(target, w / s, w · s)          (bounded step s per evaluation)
 *   change only when |target − w| ≥ h · w          (hysteresis)
 *
 * - L_e / L_med: the endpoint's mean upstream latency against the cluster median (C3, NSDI'15:
 *   rank replicas by their response time; relative, so a uniformly slow service moves nothing),
 *   less 3 standard errors of the mean (significantRatio).
 * Every term counts only what noise cannot explain (3σ): a stationary fleet must not flap
 * (the fast-check property allows 2 changes per endpoint per hour).
 * - X_e = in-flight excess (excessLoad): requests in flight above what the endpoint's weight
 *   predicts from the cluster mean per unit of weight, beyond 3 Poisson σ, relative to that
 *   prediction (Prequal, NSDI'24: requests-in-flight moves before latency does). Only an excess
 *   costs, so an endpoint idle only because its weight is low is not flooded (C3's herd concern);
 *   smoothed over evaluations (advanceLoad) because a gauge is one snapshot.
 * - P_e = (pending + connecting) / (idle + active + 1): requests that would pay a handshake
 *   (the seed's "pool pressure in the LB score", docs/decisions/0004).
 * - E_e = error share above the cluster's background beyond 3σ (excessErrorRate): a failing
 *   endpoint is slow in the way that matters most to a caller, but one stray 5xx is noise.
 * - Blackout and expiration from Envoy's client-side WRR: a new endpoint keeps the default for
 *   blackoutMs (its first figures are from cold connections); an endpoint with no data for
 *   expirationMs goes back to the default weight.
 * - Floor: a non-ejected endpoint keeps W_floor ≥ 1 so it keeps being probed by real traffic.
 */
import type { EngineConfig } from "../config.js";
import type { ClusterStats, EndpointStats } from "../stats.js";
import type { EndpointState, EngineState, GuardrailEntry, Proposal } from "../types.js";
import { RULES } from "../types.js";
import { type RuleContext, round } from "./context.js";

export interface Cost {
  cost: number;
  latencyRatio: number;
  loadTerm: number;
  poolTerm: number;
  errorTerm: number;
}

/**
 * Error share above the cluster's background by more than 3 binomial standard deviations
 * (p̄ ± 3·sqrt(p̄(1−p̄)/n)): one stray 5xx in 200 attempts is noise, not an endpoint problem
 * (without this margin the property test saw 50 weight changes an hour from 0.5 % background errors).
 */
export function excessErrorRate(e: EndpointStats, background: number): number {
  if (e.attempts === 0) return 0;
  const p = Math.max(background, 1 / e.attempts);
  const sigma = Math.sqrt((p * (1 - p)) / e.attempts);
  return Math.max(0, e.errorRate - background - 3 * sigma);
}

/**
 * L_e / L_med with its noise taken out: the standard error of a mean of n requests is cv/√n
 * (cv from the histogram), √2 of it for the median it is compared with; only the part of the
 * deviation beyond 3 standard errors counts. Clamped to 0.1..50.
 */
export function significantRatio(e: EndpointStats, median: number | undefined): number {
  if (!median || e.meanLatencyMs === undefined || e.attempts === 0) return 1;
  const r = e.meanLatencyMs / median;
  const se = Math.SQRT2 * (e.latencyCv / Math.sqrt(e.attempts));
  const dev = Math.max(0, Math.abs(r - 1) - 3 * se);
  return Math.min(50, Math.max(0.1, 1 + Math.sign(r - 1) * dev));
}

/**
 * In-flight requests above what the endpoint's weight leads one to expect, beyond 3 Poisson
 * standard deviations, relative to the expectation: in-flight gauges are snapshots of small
 * integers (an endpoint with 0.3 expected in flight shows 0, 1 or 2), so only an excess the
 * noise cannot explain costs.
 */
export function excessLoad(e: EndpointStats, st: EndpointState, ctx: RuleContext): number {
  const w = ctx.config.weights;
  const observed = e.inFlightPerProxy * e.proxies;
  const expected = ctx.stats.meanLoadPerWeight * (st.weight.value / w.defaultWeight) * e.proxies;
  return Math.max(0, observed - expected - 3 * Math.sqrt(expected + 1)) / (expected + 1);
}

/**
 * Observation step (before the rules): the in-flight excess of each endpoint, smoothed over
 * evaluations (EWMA, α = loadSmoothing). In-flight gauges are one snapshot per proxy per
 * export; a single Poisson spike (6 in flight where 1 is usual) cut weights 40 times an hour on a
 * stationary 20-endpoint bench fleet. Smoothed, a spike counts α of itself and a real overload
 * reaches two thirds of its size within five evaluations.
 */
export function advanceLoad(state: EngineState, stats: ClusterStats, config: EngineConfig): void {
  const a = config.weights.loadSmoothing;
  for (const e of stats.endpoints.values()) {
    const st = state.endpoints[e.endpoint];
    if (!st) continue;
    const x = excessLoad(e, st, { config, stats, state, now: stats.at });
    st.loadExcess = a * x + (1 - a) * (st.loadExcess ?? 0);
  }
}

export function costOf(e: EndpointStats, st: EndpointState, ctx: RuleContext): Cost {
  const w = ctx.config.weights;
  const med = ctx.stats.medianLatencyMs;
  const latencyRatio = significantRatio(e, med);
  const loadTerm = 1 + w.queuePenalty * (st.loadExcess ?? 0);
  const poolTerm = 1 + w.poolPenalty * e.poolPressure;
  const errorTerm = 1 + w.errorPenalty * excessErrorRate(e, ctx.stats.errorRate);
  return { cost: latencyRatio * loadTerm * poolTerm * errorTerm, latencyRatio, loadTerm, poolTerm, errorTerm };
}

function proposal(
  e: { endpoint: string },
  st: EndpointState,
  value: number,
  fields: Omit<Proposal, "kind" | "endpoint" | "before" | "after" | "effect" | "direction" | "urgent" | "expiresAt">,
): Proposal {
  return {
    kind: "set_weight",
    endpoint: e.endpoint,
    before: { weight: st.weight.value },
    after: { weight: value },
    effect: { type: "weight", value },
    direction: value > st.weight.value ? 1 : -1,
    urgent: false,
    ...fields,
  };
}

function expiry(ep: string, st: EndpointState, ctx: RuleContext): Proposal | undefined {
  const w = ctx.config.weights;
  if (st.weight.value === w.defaultWeight || ctx.now - st.lastDataAt < w.expirationMs) return undefined;
  return proposal({ endpoint: ep }, st, w.defaultWeight, {
    rule: RULES.weightExpiry,
    reason: `no attempts reported for ${Math.round((ctx.now - st.lastDataAt) / 1000)} s (expiration ${w.expirationMs / 1000} s): weight back to the default`,
    inputs: { lastDataAt: new Date(st.lastDataAt).toISOString(), expirationMs: w.expirationMs },
    confidence: 1,
    counterfactual: `Without it ${ep} would keep weight ${st.weight.value}, decided on figures that are ${Math.round((ctx.now - st.lastDataAt) / 1000)} s old.`,
    guardrails: [],
  });
}

function pressure(e: EndpointStats, st: EndpointState, ctx: RuleContext): Proposal | undefined {
  const w = ctx.config.weights;
  const cur = st.weight.value;
  const c = costOf(e, st, ctx);
  const wanted = Math.round(Math.min(w.maxWeight, Math.max(w.floorWeight, w.defaultWeight / c.cost)));
  if (Math.abs(wanted - cur) < w.hysteresis * cur) return undefined;
  const guardrails: GuardrailEntry[] = [];
  const stepped = Math.round(Math.min(cur * w.maxStepFactor, Math.max(cur / w.maxStepFactor, wanted)));
  const value = Math.max(1, Math.max(w.floorWeight, stepped));
  if (value !== wanted) {
    guardrails.push({
      name: "max-step",
      action: "trimmed",
      detail: `a weight moves at most ×${w.maxStepFactor} per evaluation (${cur} -> ${value}, rule wanted ${wanted})`,
      wanted: { weight: wanted },
    });
  }
  if (value === cur) return undefined;
  const live = Object.values(ctx.state.endpoints).filter((x) => x.ejection.status === "active");
  const share = round(
    (100 * cur) /
      Math.max(
        1,
        live.reduce((t, x) => t + x.weight.value, 0),
      ),
    1,
  );
  return proposal(e, st, value, {
    rule: RULES.pressureWeight,
    reason: `cost ${round(c.cost, 2)} (latency ×${round(c.latencyRatio, 2)} of the cluster median, load ×${round(c.loadTerm, 2)}, pool ×${round(c.poolTerm, 2)}, errors ×${round(c.errorTerm, 2)}): weight ${cur} -> ${value}`,
    inputs: {
      view: "short (10 s)",
      proxiesReporting: e.proxies,
      attempts: e.attempts,
      meanLatencyMs: e.meanLatencyMs === undefined ? null : round(e.meanLatencyMs, 2),
      clusterMedianLatencyMs: ctx.stats.medianLatencyMs === undefined ? null : round(ctx.stats.medianLatencyMs, 2),
      inFlightPerProxy: round(e.inFlightPerProxy, 2),
      clusterLoadPerWeight: round(ctx.stats.meanLoadPerWeight, 2),
      poolPressure: round(e.poolPressure, 3),
      errorRate: round(e.errorRate, 4),
      clusterErrorRate: round(ctx.stats.errorRate, 4),
      cost: round(c.cost, 3),
    },
    confidence: Math.min(1, e.proxies / Math.max(1, Math.min(ctx.config.eject.softQuorum, ctx.stats.proxies))),
    counterfactual:
      value < cur
        ? `Without it ${e.endpoint} would keep weight ${cur} (about ${share}% of the picks) while it answers in ${round(e.meanLatencyMs ?? 0, 1)} ms against a cluster median of ${round(ctx.stats.medianLatencyMs ?? 0, 1)} ms.`
        : `Without it ${e.endpoint} would keep weight ${cur} and stay under-used although it is cheaper than the cluster median (cost ${round(c.cost, 2)}).`,
    guardrails,
  });
}

export function weightRule(ctx: RuleContext, ejecting: ReadonlySet<string>): Proposal[] {
  const w = ctx.config.weights;
  const out: Proposal[] = [];
  for (const [ep, st] of Object.entries(ctx.state.endpoints)) {
    if (st.ejection.status === "ejected" || ejecting.has(ep)) continue;
    if (ctx.now - st.firstSeenAt < w.blackoutMs) continue;
    const e = ctx.stats.endpoints.get(ep);
    if (!e || e.attempts < w.minRequests) {
      const p = expiry(ep, st, ctx);
      if (p) out.push(p);
      continue;
    }
    const p = pressure(e, st, ctx);
    if (p) out.push(p);
  }
  return out;
}
