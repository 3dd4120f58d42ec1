/**
 * Rule 3: predictive scale-up (issue #10; docs/decisions/0011-forecast-and-pool-tuning.md).
 * Per endpoint, the fleet's attempts per second feed damped Holt (holt.ts) one second
 * at a time; then, by Little's law (L = λW), the connections one proxy keeps busy are
 *   need(λ) = ceil(λ / proxies × W × headroom),  W = mean upstream latency (long view)
 * - pool minimum  = need(level)               (what the current rate keeps busy)
 * - preconnect    = need(max(level, forecast)) (what the rate horizonMs ahead will keep busy)
 * both clamped to [minWarm, maxWarm]. Scale-up goes out at once; scale-down only to the highest
 * recommendation of the last stabilisationMs (300 s: Kubernetes HPA's downscale stabilisation
 * window), so a dip between two bursts does not drop warm connections the next burst needs.
 * The window maximum is kept as a decreasing deque, so the state stays a few entries long.
 */
import type { EngineConfig } from "../config.js";
import { holtForecast, holtObserve } from "../holt.js";
import type { ClusterStats, EndpointStats } from "../stats.js";
import type { EndpointState, EngineState, Proposal, TargetState } from "../types.js";
import { RULES } from "../types.js";
import { type RuleContext, round } from "./context.js";

/** Pushes a recommendation into the window-maximum deque and returns the window maximum. */
export function stabilise(t: TargetState, rec: number, now: number, windowMs: number): number {
  while (t.recs.length > 0 && (t.recs[t.recs.length - 1]?.[1] ?? 0) <= rec) t.recs.pop();
  t.recs.push([now, rec]);
  while (t.recs.length > 0 && now - (t.recs[0]?.[0] ?? now) >= windowMs) t.recs.shift();
  return Math.max(rec, t.recs[0]?.[1] ?? rec);
}

export interface ForecastFigures {
  proxies: number;
  level: number;
  ahead: number;
  latencyS: number;
  rec: { minWarm: number; preconnect: number };
}

/**
 * Connections one proxy needs, with Kubernetes HPA's tolerance: within ±10 % of the current
 * target the recommendation is the current target, so a need sitting on an integer boundary
 * (2.05 connections' worth) does not flip between 2 and 3. The same 10 % applies going down
 * (decision 0011 addendum: without it a noisy forecast near 1 flipped pre-connect 1↔2).
 */
function need(rate: number, proxies: number, latencyS: number, current: number, config: EngineConfig): number {
  const f = config.forecast;
  const raw = (rate / proxies) * latencyS * f.headroom;
  const ceil = Math.ceil(raw);
  let n = ceil;
  if (current > 0 && Math.abs(raw / current - 1) <= 0.1) n = current;
  // Going down, the lower target must keep 10 % to spare (0.95 connections' worth does not
  // drop a target of 2 to 1): a band around each integer boundary, not a threshold.
  else if (raw < current && raw > 0.9 * ceil) n = Math.min(current, ceil + 1);
  return Math.min(f.maxWarm, Math.max(f.minWarm, n));
}

/**
 * Observation step (before the rules): feeds the settled seconds of each endpoint's rate series
 * not seen yet into its Holt state, and records this evaluation's recommendations in the
 * stabilisation deques. Returns the figures the rule decides on.
 */
export function advanceForecast(
  state: EngineState,
  stats: ClusterStats,
  config: EngineConfig,
): Map<string, ForecastFigures> {
  const f = config.forecast;
  const figures = new Map<string, ForecastFigures>();
  const atSecond = Math.floor(stats.at / 1000);
  for (const e of stats.endpoints.values()) {
    const st = state.endpoints[e.endpoint];
    if (!st || e.rates.length === 0) continue;
    const firstSecond = atSecond - e.rates.length;
    const from = Math.max(firstSecond, (st.lastRateSecond ?? firstSecond - 1) + 1);
    for (let s = from; s < atSecond - f.settleSeconds; s++) {
      st.holt = holtObserve(st.holt, e.rates[s - firstSecond] ?? 0, f.alpha, f.beta, f.phi);
      st.lastRateSecond = s;
    }
    const long = e.long;
    if (st.holt.level === undefined || !long || long.latency.count === 0) continue;
    const latencyS = long.latency.sum / long.latency.count;
    const proxies = Math.max(1, long.proxiesReporting);
    const level = holtForecast(st.holt, 0);
    const ahead = Math.max(level, holtForecast(st.holt, f.horizonMs / 1000, f.phi));
    const rec = {
      minWarm: need(level, proxies, latencyS, st.minWarm.value, config),
      preconnect: need(ahead, proxies, latencyS, st.preconnect.value, config),
    };
    stabilise(st.minWarm, rec.minWarm, stats.at, f.stabilisationMs);
    stabilise(st.preconnect, rec.preconnect, stats.at, f.stabilisationMs);
    figures.set(e.endpoint, { proxies, level, ahead, latencyS, rec });
  }
  return figures;
}

function changeWorth(cur: number, next: number): boolean {
  return next !== cur && Math.abs(next - cur) >= Math.max(1, Math.ceil(0.1 * cur));
}
function targetProposal(
  e: EndpointStats,
  st: EndpointState,
  which: "minWarm" | "preconnect",
  value: number,
  inputs: Record<string, unknown>,
  ctx: RuleContext,
): Proposal {
  const cur = st[which].value;
  const up = value > cur;
  const what = which === "minWarm" ? "pool minimum" : "pre-connect target";
  return {
    kind: which === "minWarm" ? "set_pool_min" : "set_preconnect",
    rule: RULES.predictiveScale,
    endpoint: e.endpoint,
    reason: up
      ? `${what} ${cur} -> ${value} per proxy: ${which === "minWarm" ? "current" : "forecast"} rate ${inputs[which === "minWarm" ? "levelRps" : "forecastRps"]} req/s × ${inputs.latencyMs} ms × headroom ${ctx.config.forecast.headroom} over ${inputs.proxies} proxies (Little's law)`
      : `${what} ${cur} -> ${value} per proxy: demand stayed lower for the ${ctx.config.forecast.stabilisationMs / 1000} s stabilisation window`,
    inputs,
    before: { [which]: cur },
    after: { [which]: value },
    confidence: Math.min(1, e.rates.length / 30),
    counterfactual: up
      ? `Without it each proxy would hold ${cur} warm connection(s) for a need of ${value}: about ${value - cur} request(s) per proxy at the ${up ? "coming" : "current"} peak would wait for a TCP/TLS connect.`
      : `Without it each proxy would keep ${cur - value} more idle connection(s) to ${e.endpoint} than the last ${ctx.config.forecast.stabilisationMs / 1000} s needed.`,
    effect: { type: which, value },
    direction: up ? 1 : -1,
    urgent: false,
    guardrails: [],
  };
}

export function forecastRule(
  ctx: RuleContext,
  figures: ReadonlyMap<string, ForecastFigures>,
  ejecting: ReadonlySet<string>,
): Proposal[] {
  const f = ctx.config.forecast;
  const out: Proposal[] = [];
  for (const [ep, fig] of figures) {
    const st = ctx.state.endpoints[ep];
    const e = ctx.stats.endpoints.get(ep);
    if (!st || !e || st.ejection.status === "ejected" || ejecting.has(ep)) continue;
    const inputs = {
      view: "long (60 s) rates",
      proxies: fig.proxies,
      levelRps: round(fig.level, 2),
      trendRpsPerS: round(st.holt.trend, 3),
      forecastRps: round(fig.ahead, 2),
      horizonS: f.horizonMs / 1000,
      latencyMs: round(fig.latencyS * 1000, 2),
    };
    for (const which of ["minWarm", "preconnect"] as const) {
      const t = st[which];
      const rec = fig.rec[which];
      // Up at once; down only to the highest recommendation of the stabilisation window.
      const desired = rec >= t.value ? rec : (t.recs[0]?.[1] ?? rec);
      if (changeWorth(t.value, desired)) out.push(targetProposal(e, st, which, desired, inputs, ctx));
    }
  }
  return out;
}
