/**
 * Rule 2: pressure-weighted weights (issue #10; formula and the reason for each term in
 * docs/decisions/0010-pressure-weights.md). For every endpoint with enough attempts in the
 * short view:
 *
 *   cost   = (L_e / L_med) · (1 + q·max(0, (ρ_e+1)/(ρ̄+1) − 1 − d)) · (1 + p·P_e) · (1 + k_e·E_e)
 *   target = clamp(W_default / cost, W_floor, W_max)
 *   next   = clamp(target, w / s, w · s)          (bounded step s per evaluation)
 *   change only when |target − w| ≥ h · w          (hysteresis)
 *
 * - L_e / L_med: the endpoint's mean upstream latency against the cluster median (C3, NSDI'15:
 *   rank replicas by their response time; relative, so a uniformly slow service moves nothing).
 * - ρ_e = in-flight per proxy per unit of weight (Prequal, NSDI'24: requests-in-flight is the
 *   signal that moves before latency does); only the excess over the cluster mean beyond a dead
 *   band d costs (in-flight gauges are snapshots of small integers, so ±20 % is noise), and an
 *   endpoint that is idle only because its weight is low is not flooded (C3's herd concern).
 * - P_e = (pending + connecting) / (idle + active + 1): requests that would pay a handshake
 *   (the seed's "pool pressure in the LB score", docs/decisions/0004).
 * - E_e = error share (a failing endpoint is slow in the way that matters most to a caller).
 * - Blackout and expiration from Envoy's client-side WRR: a new endpoint keeps the default for
 *   blackoutMs (its first figures are from cold connections); an endpoint with no data for
 *   expirationMs goes back to the default weight.
 * - Floor: a non-ejected endpoint keeps W_floor ≥ 1 so it keeps being probed by real traffic.
 */
import type { EndpointStats } from "../stats.js";
import type { EndpointState, GuardrailEntry, Proposal } from "../types.js";
import { RULES } from "../types.js";
import { type RuleContext, round } from "./context.js";

export interface Cost {
  cost: number;
  latencyRatio: number;
  loadTerm: number;
  poolTerm: number;
  errorTerm: number;
}

export function costOf(e: EndpointStats, st: EndpointState, ctx: RuleContext): Cost {
  const w = ctx.config.weights;
  const med = ctx.stats.medianLatencyMs;
  const latencyRatio = med && e.meanLatencyMs !== undefined ? Math.min(50, Math.max(0.1, e.meanLatencyMs / med)) : 1;
  const rho = e.inFlightPerProxy / (st.weight.value / w.defaultWeight);
  // +1 on both sides: a handful of in-flight requests is noise, not pressure.
  const loadRatio = (rho + 1) / (ctx.stats.meanLoadPerWeight + 1);
  const loadTerm = 1 + w.queuePenalty * Math.max(0, loadRatio - 1 - w.loadDeadband);
  const poolTerm = 1 + w.poolPenalty * e.poolPressure;
  const errorTerm = 1 + w.errorPenalty * e.errorRate;
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
  const share = (x: number) => round(x / Math.max(1, Object.keys(ctx.state.endpoints).length), 1);
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
      cost: round(c.cost, 3),
    },
    confidence: Math.min(1, e.proxies / Math.max(1, Math.min(ctx.config.eject.softQuorum, ctx.stats.proxies))),
    counterfactual:
      value < cur
        ? `Without it ${e.endpoint} would keep weight ${cur} (about ${share(100)}% of picks at equal weights) while it answers in ${round(e.meanLatencyMs ?? 0, 1)} ms against a cluster median of ${round(ctx.stats.medianLatencyMs ?? 0, 1)} ms.`
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
