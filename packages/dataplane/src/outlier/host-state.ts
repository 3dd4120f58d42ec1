/**
 * One host's outlier state and the algorithms that need only that host (Envoy's per-host
 * monitor, source/common/upstream/outlier_detection_impl.cc); the detector (detector.ts)
 * decides whether an ejection may go ahead and flips the host's flag.
 *
 * - Consecutive errors eject at once: consecutive 5xx (gateway errors count too), consecutive
 *   gateway errors (502/503/504), consecutive local-origin failures (connect refused/timeout,
 *   TLS failure, reset). Local-origin errors are kept apart from HTTP errors as in Envoy's
 *   split_external_local_origin_errors mode: an egress proxy to external services sees mostly
 *   connect failures, which deserve their own threshold. Any HTTP response proves the connection
 *   worked and resets the local-origin counter; a non-5xx response resets the HTTP counters; a
 *   5xx that is not a gateway error resets the gateway counter (Envoy putHttpResponseCode).
 * - Ejection time = baseEjectionTimeMs × multiplier, capped at maxEjectionTimeMs; the multiplier
 *   grows by one per ejection (while multiplier × base < max + base) and decays by one per
 *   interval un-ejected. Un-ejection happens on the interval tick, as in Envoy.
 */
import type { OutlierConfig } from "@meshtune/contracts";
import { classifyStatus, type EjectionReason, type OutlierHostSnapshot, type OutlierResult } from "./types.js";

export interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocalOrigin: number;
  requests: number;
  failures: number;
  latencySum: number;
  latencyCount: number;
  ejected: boolean;
  reason: EjectionReason | undefined;
  detail: string | undefined;
  ejectedAt: number | undefined;
  ejectUntil: number | undefined;
  multiplier: number;
  totalEjections: number;
  lastUnejectedAt: number | undefined;
  successRate: number | undefined;
  meanLatencyMs: number | undefined;
}

export function newState(): HostState {
  return {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocalOrigin: 0,
    requests: 0,
    failures: 0,
    latencySum: 0,
    latencyCount: 0,
    ejected: false,
    reason: undefined,
    detail: undefined,
    ejectedAt: undefined,
    ejectUntil: undefined,
    multiplier: 0,
    totalEjections: 0,
    lastUnejectedAt: undefined,
    successRate: undefined,
    meanLatencyMs: undefined,
  };
}

/** Attempts an ejection of the host whose state it is; false when the detector refused it. */
export type TryEject = (
  reason: EjectionReason,
  detail: string | undefined,
  evidence: Record<string, number>,
) => boolean;

/** Counts one attempt's outcome; calls `eject` when a consecutive-error threshold is reached. */
export function recordResult(s: HostState, result: OutlierResult, cfg: OutlierConfig, eject: TryEject): void {
  let kind = result.kind;
  if (kind === "http_5xx" && result.status !== undefined && classifyStatus(result.status) === "gateway_error") {
    kind = "gateway_error";
  }
  s.requests++;
  if (kind !== "success") s.failures++;
  if (result.latencyMs !== undefined && result.latencyMs >= 0) {
    s.latencySum += result.latencyMs;
    s.latencyCount++;
  }
  // An ejected host's late results still count toward its interval, but its consecutive
  // counters restart at un-ejection (Envoy ignores consecutive errors of ejected hosts).
  if (s.ejected) return;
  switch (kind) {
    case "success":
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      s.consecutiveLocalOrigin = 0;
      return;
    case "local_origin_failure":
      s.consecutiveLocalOrigin++;
      if (cfg.consecutiveLocalOriginFailures > 0 && s.consecutiveLocalOrigin >= cfg.consecutiveLocalOriginFailures) {
        const n = s.consecutiveLocalOrigin;
        s.consecutiveLocalOrigin = 0;
        eject("consecutive_local_origin_failure", result.cause, { consecutive: n });
      }
      return;
    case "gateway_error":
    case "http_5xx": {
      s.consecutiveLocalOrigin = 0;
      s.consecutive5xx++;
      if (kind === "gateway_error") s.consecutiveGateway++;
      else s.consecutiveGateway = 0;
      const detail = result.status !== undefined ? `status ${result.status}` : undefined;
      if (cfg.consecutiveGatewayErrors > 0 && s.consecutiveGateway >= cfg.consecutiveGatewayErrors) {
        const n = s.consecutiveGateway;
        s.consecutiveGateway = 0;
        eject("consecutive_gateway_error", detail, { consecutive: n });
      }
      if (!s.ejected && cfg.consecutive5xx > 0 && s.consecutive5xx >= cfg.consecutive5xx) {
        const n = s.consecutive5xx;
        s.consecutive5xx = 0;
        eject("consecutive_5xx", detail, { consecutive: n });
      }
      return;
    }
  }
}

/** Marks the host ejected at `now` for the backoff time above; returns when the ejection ends. */
export function markEjected(
  s: HostState,
  now: number,
  reason: EjectionReason,
  detail: string | undefined,
  cfg: OutlierConfig,
): number {
  const base = cfg.baseEjectionTimeMs;
  const max = Math.max(base, cfg.maxEjectionTimeMs);
  // Envoy grows the multiplier only while base × multiplier < max + base, so a long-failing
  // host's multiplier stays bounded and decays back in a bounded number of intervals.
  if (s.multiplier * base < max + base) s.multiplier++;
  s.totalEjections++;
  s.ejected = true;
  s.reason = reason;
  s.detail = detail;
  s.ejectedAt = now;
  s.ejectUntil = now + Math.min(base * s.multiplier, max);
  return s.ejectUntil;
}

/** A host found already carrying the outlier flag: ejected for one base period (see OutlierDetector#track). */
export function adoptEjection(s: HostState, now: number, reason: EjectionReason, baseEjectionTimeMs: number): void {
  s.ejected = true;
  s.reason = reason;
  s.ejectedAt = now;
  s.multiplier = 1;
  s.totalEjections = 1;
  s.ejectUntil = now + baseEjectionTimeMs;
}

/** Marks the host back in at `now`; returns why it had been out and for how long. */
export function markUnejected(s: HostState, now: number): { reason: EjectionReason; ejectedForMs: number } {
  const reason = s.reason ?? "unknown";
  const ejectedForMs = now - (s.ejectedAt ?? now);
  s.ejected = false;
  s.reason = undefined;
  s.detail = undefined;
  s.ejectedAt = undefined;
  s.ejectUntil = undefined;
  s.lastUnejectedAt = now;
  // Envoy resets the consecutive counters so a couple of fresh errors cannot re-eject a host
  // whose counter was one short of the threshold when it went out.
  s.consecutive5xx = 0;
  s.consecutiveGateway = 0;
  s.consecutiveLocalOrigin = 0;
  return { reason, ejectedForMs };
}

/** Starts a new interval; decays the multiplier of a host that stayed un-ejected a whole interval. */
export function startInterval(s: HostState, now: number, intervalMs: number): void {
  s.requests = 0;
  s.failures = 0;
  s.latencySum = 0;
  s.latencyCount = 0;
  if (!s.ejected && s.multiplier > 0 && s.lastUnejectedAt !== undefined && now - s.lastUnejectedAt >= intervalMs) {
    s.multiplier--;
  }
}

export function snapshotOf(s: HostState): OutlierHostSnapshot {
  const snap: OutlierHostSnapshot = {
    ejected: s.ejected,
    ejectionCount: s.multiplier,
    totalEjections: s.totalEjections,
    consecutive: {
      http5xx: s.consecutive5xx,
      gatewayErrors: s.consecutiveGateway,
      localOriginFailures: s.consecutiveLocalOrigin,
    },
    interval: { requests: s.requests, failures: s.failures },
  };
  if (s.ejected) {
    snap.reason = s.reason;
    if (s.detail !== undefined) snap.detail = s.detail;
    snap.ejectedAt = s.ejectedAt;
    snap.ejectUntil = s.ejectUntil;
  }
  if (s.successRate !== undefined) snap.successRate = s.successRate;
  if (s.meanLatencyMs !== undefined) snap.meanLatencyMs = s.meanLatencyMs;
  return snap;
}
