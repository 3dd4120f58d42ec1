/**
 * Rule 1: fleet-wide ejection (issue #10; DESIGN.md section 3, "one proxy's warm-up or health
 * failure ejects that endpoint on every proxy, so M proxies do not each pay the failures").
 *
 * Evidence, over the short view (10 s):
 * - hard: a warm-up or health-check failure signal, or a refused / timed-out / TLS-failed
 *   connect, from ONE proxy. These are failures of the endpoint itself (not of one request): a
 *   TCP RST or a failed handshake repeats for every proxy that tries (Envoy counts them as
 *   local-origin failures, outlier_detection split_external_local_origin_errors). Except
 *   timeouts the rest of the fleet contradicts: when every hard signal is a timeout and at
 *   least max(2, timeoutContradictionRatio × reporters) other proxies saw the endpoint healthy
 *   in the same view, the reporters' own starvation is the likelier cause (see contradicted()).
 * - soft: error share ≥ softErrorRate, or mean latency ≥ latencyOutlierFactor × the cluster
 *   median, with ≥ minRequests attempts, seen by k = min(softQuorum, proxies reporting)
 *   proxies, so one proxy's bad path cannot eject an endpoint for everyone.
 * Ejection time = baseEjectionMs × count, capped at maxEjectionMs; count grows by one per
 * ejection and drops by one per countDecayMs spent un-ejected (Envoy's ejection multiplier).
 *
 * Un-ejection, when the short view holds no failure at all and either
 * - every reporting proxy saw its health checks / warm-ups succeed again
 *   (EndpointWindow.healthyByProxy) and recoveryDwellMs × count has passed, or
 * - the ejection time is up.
 * An ejection whose time is up while failures continue is renewed (a new decision with a new
 * expiry), so the actuator never lets a still-failing endpoint back by expiry alone.
 */
import { ATTR, type FastSignal } from "@meshtune/contracts";
import type { EndpointStats } from "../stats.js";
import type { EndpointState, EvidenceClass, Proposal } from "../types.js";
import { RULES } from "../types.js";
import { iso, type RuleContext, round } from "./context.js";

interface Evidence {
  evidence: EvidenceClass;
  reason: string;
  reporters: string[];
  confidence: number;
  detail: string;
}

/** A health-check or warm-up failure that was a timeout (the proxy's detail starts with "timeout"). */
function timeoutSignal(s: FastSignal): boolean {
  if (s.attributes[ATTR.healthResult] === "timeout") return true;
  return /\btime(d)?[ -]?out\b/i.test(String(s.attributes[ATTR.detail] ?? ""));
}

/**
 * Timeouts only, while at least max(2, ratio × reporters) other proxies saw the endpoint
 * healthy in the same view: the reporters' own trouble (a CPU-starved proxy misses every
 * health-check deadline; seen in the demo at load average 10+ on 2 cores, where one proxy's
 * timeouts ejected healthy endpoints fleet-wide), not the endpoint's. Soft evidence (k
 * proxies) still applies to it.
 */
function contradicted(e: EndpointStats, signals: readonly FastSignal[], reporters: readonly string[], ratio: number) {
  const connect = e.short?.connectFailures ?? {};
  const nonTimeoutConnects = Object.entries(connect).some(([reason, n]) => reason !== "timeout" && n > 0);
  if (nonTimeoutConnects || !signals.every(timeoutSignal)) return false;
  const healthy = Object.entries(e.short?.healthyByProxy ?? {}).filter(([p, n]) => n > 0 && !reporters.includes(p));
  return healthy.length >= Math.max(2, ratio * reporters.length);
}

function hardEvidence(e: EndpointStats, st: EndpointState, ctx: RuleContext): Evidence | undefined {
  const after = st.ejection.lastUnejectedAt ?? Number.NEGATIVE_INFINITY;
  const signals = e.hardSignals.filter((s) => s.at > after);
  if (signals.length === 0 && e.hardConnectFailures === 0) return undefined;
  const reporters = [...new Set([...signals.map((s) => s.proxy), ...e.failingProxies])].sort();
  if (contradicted(e, signals, reporters, ctx.config.eject.timeoutContradictionRatio)) return undefined;
  const first = signals[0];
  const reason = first ? first.kind : "connect_failure";
  const detail = first
    ? `${first.kind} reported by proxy ${first.proxy}${signals.length > 1 ? ` (+${signals.length - 1} more signals)` : ""}`
    : `${e.hardConnectFailures} refused/timed-out/TLS connect failure(s)`;
  return { evidence: "hard", reason, reporters, confidence: reporters.length > 1 ? 1 : 0.9, detail };
}

function softEvidence(e: EndpointStats, ctx: RuleContext): Evidence | undefined {
  const c = ctx.config.eject;
  if (e.attempts < c.minRequests) return undefined;
  const quorum = Math.min(c.softQuorum, Math.max(1, ctx.stats.proxies));
  if (e.errorRate >= c.softErrorRate && e.failingProxies.length >= quorum) {
    return {
      evidence: "soft",
      reason: "error_rate",
      reporters: [...e.failingProxies].sort(),
      confidence: Math.min(1, e.failingProxies.length / Math.max(1, e.proxies)),
      detail: `${round(e.errorRate * 100, 1)}% of ${e.attempts} attempts failed, seen by ${e.failingProxies.length} proxies (quorum ${quorum})`,
    };
  }
  const med = ctx.stats.medianLatencyMs;
  const lat = e.meanLatencyMs;
  if (med !== undefined && lat !== undefined && lat >= c.latencyOutlierFactor * med && e.proxies >= quorum) {
    return {
      evidence: "soft",
      reason: "latency_outlier",
      reporters: [],
      confidence: Math.min(1, e.proxies / Math.max(1, ctx.stats.proxies)),
      detail: `mean latency ${round(lat, 1)} ms ≥ ${c.latencyOutlierFactor} × cluster median ${round(med, 1)} ms, over ${e.proxies} proxies`,
    };
  }
  return undefined;
}

function inputsOf(e: EndpointStats, ctx: RuleContext): Record<string, unknown> {
  return {
    view: "short (10 s)",
    proxiesReporting: e.proxies,
    clusterProxies: ctx.stats.proxies,
    attempts: e.attempts,
    errorRate: round(e.errorRate, 4),
    meanLatencyMs: e.meanLatencyMs === undefined ? null : round(e.meanLatencyMs, 2),
    clusterMedianLatencyMs: ctx.stats.medianLatencyMs === undefined ? null : round(ctx.stats.medianLatencyMs, 2),
    hardConnectFailures: e.hardConnectFailures,
    connectFailures: e.short?.connectFailures ?? {},
    failingProxies: e.failingProxies.length,
    signals: e.hardSignals.slice(0, 5).map((s) => ({ kind: s.kind, proxy: s.proxy, at: iso(s.at) })),
    healthyProxies: Object.keys(e.short?.healthyByProxy ?? {}).length,
  };
}

function ejectProposal(e: EndpointStats, st: EndpointState, ev: Evidence, ctx: RuleContext, renew: boolean): Proposal {
  const c = ctx.config.eject;
  const unejectedFor = st.ejection.lastUnejectedAt === undefined ? 0 : ctx.now - st.ejection.lastUnejectedAt;
  const decayed = Math.max(0, st.ejection.count - Math.floor(unejectedFor / c.countDecayMs));
  const count = renew ? st.ejection.count : decayed + 1;
  const ms = Math.min(c.baseEjectionMs * count, c.maxEjectionMs);
  const until = ctx.now + ms;
  const p = ctx.stats.proxies;
  return {
    kind: "eject",
    rule: RULES.fleetEject,
    endpoint: e.endpoint,
    reason: `${renew ? "still failing, ejection renewed" : `${ev.evidence} evidence`}: ${ev.detail}; ejected on every proxy for ${ms / 1000} s (ejection #${count})`,
    inputs: { ...inputsOf(e, ctx), evidence: ev.evidence, reporters: ev.reporters.slice(0, 10), ejectionCount: count },
    before: { ejected: st.ejection.status === "ejected" },
    after: { ejected: true, ejectReason: `fleet:${ev.reason}`, until: iso(until) },
    confidence: ev.confidence,
    expiresAt: until + c.expiryGraceMs,
    counterfactual: `Without it each of the ${p} proxies would keep sending to ${e.endpoint} until its own outlier detector tripped (about 5 consecutive failures per proxy, so ≈${p * 5} failed attempts fleet-wide), and warm-up/refill would keep opening connections to it.`,
    effect: { type: "eject", until, count, reason: ev.reason, evidence: ev.evidence, reporters: ev.reporters },
    direction: 1,
    urgent: ev.evidence === "hard",
    guardrails: [],
  };
}

function unejectProposal(e: EndpointStats | undefined, st: EndpointState, why: string, ctx: RuleContext): Proposal {
  const ep = e?.endpoint ?? "";
  const n = Object.keys(ctx.state.endpoints).length;
  return {
    kind: "uneject",
    rule: RULES.fleetUneject,
    endpoint: ep,
    reason: why,
    inputs: e ? inputsOf(e, ctx) : { view: "short (10 s)", proxiesReporting: 0 },
    before: {
      ejected: true,
      ejectReason: `fleet:${st.ejection.reason ?? "unknown"}`,
      until: iso(st.ejection.until ?? ctx.now),
    },
    after: { ejected: false },
    confidence: e && e.proxies > 0 ? Math.min(1, Object.keys(e.short?.healthyByProxy ?? {}).length / e.proxies) : 0.5,
    counterfactual: `Without it ${ep} would stay out of rotation until ${iso(st.ejection.until ?? ctx.now)}, leaving 1 of ${n} endpoints idle although the evidence is clean.`,
    effect: { type: "uneject" },
    direction: -1,
    urgent: false,
    guardrails: [],
  };
}

function recovered(e: EndpointStats | undefined, st: EndpointState): boolean {
  const healthy = e?.short?.healthyByProxy ?? {};
  const reporters = st.ejection.reporters;
  if (reporters.length === 0) return Object.values(healthy).some((v) => v > 0);
  return reporters.every((r) => (healthy[r] ?? 0) > 0);
}

function clean(e: EndpointStats | undefined, st: EndpointState): boolean {
  if (!e) return true;
  const since = st.ejection.since ?? Number.NEGATIVE_INFINITY;
  return e.failingProxies.length === 0 && e.hardConnectFailures === 0 && !e.hardSignals.some((s) => s.at >= since);
}

export function ejectRule(ctx: RuleContext): Proposal[] {
  const out: Proposal[] = [];
  for (const [ep, st] of Object.entries(ctx.state.endpoints)) {
    const e = ctx.stats.endpoints.get(ep);
    if (st.ejection.status === "active") {
      if (!e) continue;
      const ev = hardEvidence(e, st, ctx) ?? softEvidence(e, ctx);
      if (ev) out.push(ejectProposal(e, st, ev, ctx, false));
      continue;
    }
    if (st.ejection.evidence === "operator") continue;
    const since = st.ejection.since ?? ctx.now;
    const until = st.ejection.until ?? ctx.now;
    const isClean = clean(e, st);
    const dwell = ctx.config.eject.recoveryDwellMs * Math.max(1, st.ejection.count);
    if (isClean && recovered(e, st) && ctx.now - since >= dwell) {
      out.push(
        unejectProposal(
          e,
          st,
          "the reporting proxies' health checks and warm-ups succeed again and no failure was seen in the last 10 s",
          ctx,
        ),
      );
    } else if (isClean && ctx.now >= until) {
      out.push(unejectProposal(e, st, "the ejection time is up and no failure was seen in the last 10 s", ctx));
    } else if (!isClean && ctx.now >= until && e) {
      const ev = hardEvidence(e, st, ctx) ?? softEvidence(e, ctx);
      const still: Evidence = ev ?? {
        evidence: st.ejection.evidence ?? "soft",
        reason: st.ejection.reason ?? "failures",
        reporters: e.failingProxies,
        confidence: 0.8,
        detail: `${e.failingProxies.length} proxies still report failures`,
      };
      out.push(ejectProposal(e, st, still, ctx, true));
    }
  }
  return out;
}
