/**
 * Pure analysis of one tuner-fleet run (no I/O, so the report test can feed it fixtures):
 * - traffic: every proxy's open-loop samples → failed requests (fleet, per proxy, before and
 *   after the death), the time from the death to the last failed request, per-second series
 *   (requests, failed, p50, p99) for the plots, and a latency CDF;
 * - control plane: the engine's decisions, the actuator's versions and the proxies' ACKs as
 *   read from Redis → decision-to-applied latency = ACK `at` (the Unix ms a proxy applied the
 *   version) − the decision's time, one sample per (decision, proxy). A decision is applied by
 *   the first version issued at or after the time it was written to the engine's stream (the
 *   stream id's ms) — the actuator folds every decision after its cursor into the next version
 *   — provided that version changed what the decision is about (its endpoint's override, or
 *   the cluster's pool limits); otherwise it was a no-op (a renewal of an ejection, a value
 *   already in place) and has no applied time. A proxy that skipped that version (a newer one
 *   arrived first) applied it with the first later version it ACKed. Only decisions made once
 *   every proxy was serving (after the load started) count: a proxy that starts later ACKs
 *   the current version at its start. Two decision times: `decidedAt` (the engine's logical
 *   time, the end of the evaluated window, whole seconds: it includes the wait for the
 *   evaluation) and `writtenAt` (when the decision was committed). Same clock: no skew.
 */
import type { Sample } from "../lib/load.js";
import { percentile, r1, r3 } from "../lib/stats.js";

export interface SecondPoint {
  /** Second since the load started. */
  t: number;
  requests: number;
  failed: number;
  p50: number | null;
  p99: number | null;
}

export interface TrafficFigures {
  requests: number;
  failed: number;
  /** Failed requests that ended before the death (noise: nothing had failed yet). */
  failedBeforeDeath: number;
  /** Failed requests that ended at or after the death (sent before it and reset, or sent after). */
  failedAfterDeath: number;
  /** Failed requests after the death per proxy: mean and max (the "one proxy alone" figure). */
  failedPerProxy: { mean: number; max: number; min: number };
  /** From the death to the scheduled send time of the last failed request; null when none failed. */
  deathToLastFailureMs: number | null;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  series: SecondPoint[];
  /** Failed requests per 100 ms from 1 s before the death to 3 s after it (t = ms since the load started). */
  deathTimeline: { t: number; failed: number }[];
  /** Latency at each quantile in CDF_QUANTILES (successful requests). */
  cdf: { q: number; ms: number }[];
}

export const CDF_QUANTILES = [
  0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1,
];

/** `perProxy[i]` = samples of proxy i; `at` is ms since the load started, like `deathAtMs`. */
export function analyseTraffic(perProxy: readonly (readonly Sample[])[], deathAtMs: number): TrafficFigures {
  const all = perProxy.flat();
  // A request fails "after the death" when it ended after it: requests in flight at the death
  // whose responses were reset count too (they were sent before it).
  const afterDeath = (s: Sample) => !s.ok && s.at + s.latency >= deathAtMs;
  const failedAfter = perProxy.map((xs) => xs.filter(afterDeath).length);
  const lastFail = all.filter((s) => !s.ok && s.at >= deathAtMs).reduce((m, s) => Math.max(m, s.at), -1);
  const okLat = Float64Array.from(all.filter((s) => s.ok).map((s) => s.latency)).sort();
  const seconds = Math.ceil(all.reduce((m, s) => Math.max(m, s.at), 0) / 1000);
  const buckets: number[][] = Array.from({ length: seconds + 1 }, () => []);
  const failedBy = new Array<number>(seconds + 1).fill(0);
  const reqBy = new Array<number>(seconds + 1).fill(0);
  for (const s of all) {
    const i = Math.floor(s.at / 1000);
    reqBy[i]! += 1;
    if (s.ok) buckets[i]!.push(s.latency);
    else failedBy[i]! += 1;
  }
  const series = buckets.map((b, t) => {
    const sorted = Float64Array.from(b).sort();
    return {
      t,
      requests: reqBy[t]!,
      failed: failedBy[t]!,
      p50: sorted.length ? r3(percentile(sorted, 50)) : null,
      p99: sorted.length ? r3(percentile(sorted, 99)) : null,
    };
  });
  const n = Math.max(1, perProxy.length);
  const from = Math.max(0, Math.floor((deathAtMs - 1000) / 100));
  const deathTimeline = Array.from({ length: 40 }, (_, i) => ({ t: (from + i) * 100, failed: 0 }));
  for (const s of all) {
    const i = Math.floor(s.at / 100) - from;
    if (!s.ok && i >= 0 && i < deathTimeline.length) deathTimeline[i]!.failed += 1;
  }
  return {
    requests: all.length,
    failed: all.filter((s) => !s.ok).length,
    failedBeforeDeath: all.filter((s) => !s.ok && !afterDeath(s)).length,
    failedAfterDeath: failedAfter.reduce((a, b) => a + b, 0),
    failedPerProxy: {
      mean: r1(failedAfter.reduce((a, b) => a + b, 0) / n),
      max: failedAfter.length ? Math.max(...failedAfter) : 0,
      min: failedAfter.length ? Math.min(...failedAfter) : 0,
    },
    deathToLastFailureMs: lastFail >= 0 ? Math.round(lastFail - deathAtMs) : null,
    latencyMs: {
      p50: r3(percentile(okLat, 50)),
      p99: r3(percentile(okLat, 99)),
      p999: r3(percentile(okLat, 99.9)),
      max: r3(okLat.length ? okLat[okLat.length - 1]! : 0),
    },
    series,
    deathTimeline,
    cdf: CDF_QUANTILES.map((q) => ({ q, ms: r3(okLat.length ? percentile(okLat, Math.max(q * 100, 0.0001)) : 0) })),
  };
}

export interface DecisionRecord {
  id: string;
  kind: string;
  rule: string;
  endpoint?: string;
  /** Unix ms (the Decision's decidedAt). */
  decidedAt: number;
  /** Unix ms the engine wrote it to its stream (the stream id's time part). */
  writtenAt: number;
  applied: boolean;
}

export interface VersionRecord {
  version: number;
  issuedAt: number;
  /** The version's ClusterOverride (endpointOverrides, pool). */
  override?: { endpointOverrides?: Record<string, unknown>; pool?: unknown };
}

export interface AckRecord {
  proxyId: string;
  version: number;
  status: "ACK" | "NACK";
  at: number;
}

export interface ControlFigures {
  decisions: number;
  applied: number;
  byKind: Record<string, number>;
  versions: number;
  /** Samples (decision × proxy) of ACK time − decidedAt, ms. */
  decisionToApplied: { samples: number; p50: number | null; p99: number | null; max: number | null };
  /** The same from the decision's commit to the engine's stream (writtenAt). */
  committedToApplied: { samples: number; p50: number | null; p99: number | null; max: number | null };
  /** Applied decisions that changed nothing in the version that folded them (renewals). */
  noOps: number;
  /** Per decision: time until the LAST proxy applied it. */
  decisionToFleetApplied: { p50: number | null; p99: number | null; max: number | null };
  /** Markers for the plots: applied decisions, ms since the load started. */
  markers: { atMs: number; kind: string; rule: string; endpoint?: string }[];
  /** First applied ejection of `deadEndpoint` after the death: ms after the death. */
  deadEjectedAfterMs: number | null;
}

const pctOrNull = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  return r1(percentile(Float64Array.from(xs).sort(), p));
};

export interface ControlInput {
  decisions: readonly DecisionRecord[];
  versions: readonly VersionRecord[];
  acks: readonly AckRecord[];
  /** Unix ms when the load started (series time 0) and when the endpoint died. */
  loadStartedAt: number;
  deathAt: number;
  deadEndpoint: string;
}

export function analyseControl(c: ControlInput): ControlFigures {
  const versions = [...c.versions].sort((a, b) => a.version - b.version);
  const ackByProxy = new Map<string, AckRecord[]>();
  for (const a of c.acks) {
    if (a.status !== "ACK") continue;
    const xs = ackByProxy.get(a.proxyId) ?? [];
    xs.push(a);
    ackByProxy.set(a.proxyId, xs);
  }
  for (const xs of ackByProxy.values()) xs.sort((a, b) => a.version - b.version);
  const perPair: number[] = [];
  const fromCommit: number[] = [];
  const perDecision: number[] = [];
  const byKind: Record<string, number> = {};
  let noOps = 0;
  const applied = c.decisions.filter((d) => d.applied);
  const target = (v: VersionRecord | undefined, d: DecisionRecord) =>
    JSON.stringify((d.endpoint ? v?.override?.endpointOverrides?.[d.endpoint] : v?.override?.pool) ?? null);
  for (const d of applied) {
    byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
    if (d.decidedAt < c.loadStartedAt) continue;
    const i = versions.findIndex((x) => x.issuedAt >= d.writtenAt);
    const v = versions[i];
    if (!v) continue;
    if (v.override && target(v, d) === target(versions[i - 1], d)) {
      noOps++;
      continue;
    }
    const lat: number[] = [];
    for (const xs of ackByProxy.values()) {
      const first = xs.find((a) => a.version >= v.version);
      if (!first) continue;
      lat.push(first.at - d.decidedAt);
      fromCommit.push(first.at - d.writtenAt);
    }
    perPair.push(...lat);
    if (lat.length > 0) perDecision.push(Math.max(...lat));
  }
  const dead = applied.find((d) => d.kind === "eject" && d.endpoint === c.deadEndpoint && d.decidedAt >= c.deathAt);
  return {
    decisions: c.decisions.length,
    applied: applied.length,
    byKind,
    versions: versions.length,
    decisionToApplied: {
      samples: perPair.length,
      p50: pctOrNull(perPair, 50),
      p99: pctOrNull(perPair, 99),
      max: perPair.length ? r1(Math.max(...perPair)) : null,
    },
    committedToApplied: {
      samples: fromCommit.length,
      p50: pctOrNull(fromCommit, 50),
      p99: pctOrNull(fromCommit, 99),
      max: fromCommit.length ? r1(Math.max(...fromCommit)) : null,
    },
    noOps,
    decisionToFleetApplied: {
      p50: pctOrNull(perDecision, 50),
      p99: pctOrNull(perDecision, 99),
      max: perDecision.length ? r1(Math.max(...perDecision)) : null,
    },
    markers: applied
      .filter((d) => d.decidedAt >= c.loadStartedAt)
      .map((d) => ({
        atMs: d.decidedAt - c.loadStartedAt,
        kind: d.kind,
        rule: d.rule,
        ...(d.endpoint ? { endpoint: d.endpoint } : {}),
      })),
    deadEjectedAfterMs: dead ? dead.decidedAt - c.deathAt : null,
  };
}

/** min / median / max of a figure over repeated runs (nulls left out). */
export function spread(
  xs: readonly (number | null | undefined)[],
): { n: number; min: number; median: number; max: number } | null {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { n: v.length, min: v[0]!, median: r3(mid), max: v[v.length - 1]! };
}
