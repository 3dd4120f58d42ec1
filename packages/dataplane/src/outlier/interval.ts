/**
 * The interval sweep's cluster-wide ejections (Envoy's success-rate and failure-percentage
 * ejection, plus our latency ejection):
 *
 * - Success-rate ejection: mean − stdevFactor × stdev over hosts with ≥ requestVolume requests,
 *   only when ≥ minimumHosts qualify. Failure-percentage ejection: failure % ≥ threshold, same
 *   qualification. Both count local-origin failures as failures (a request that never got an
 *   answer did fail).
 * - Latency ejection: mean latency > factor × median of the qualifying hosts' means — ours;
 *   Envoy has none (DESIGN.md section 2).
 *
 * Ejected hosts are not judged. Each function reports the numbers behind its decisions into
 * `stats` (the cluster snapshot) and ejects through `eject`, which may refuse.
 */
import type { OutlierConfig } from "@meshtune/contracts";
import type { Host } from "../host.js";
import type { HostState } from "./host-state.js";
import type { EjectionReason, OutlierClusterSnapshot } from "./types.js";

/** The last interval's cluster-wide numbers. */
export type IntervalStats = Omit<OutlierClusterSnapshot, "hosts" | "ejected">;

export type EjectHost = (host: Host, s: HostState, reason: EjectionReason, evidence: Record<string, number>) => boolean;

/** Mean and population standard deviation. */
export function meanStdev(values: readonly number[]): { mean: number; stdev: number } {
  let sum = 0;
  for (const r of values) sum += r;
  const mean = sum / values.length;
  let variance = 0;
  for (const r of values) variance += (r - mean) ** 2;
  return { mean, stdev: Math.sqrt(variance / values.length) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Success rate and failure percentage over the non-ejected hosts with enough volume. */
export function rateEjections(
  states: ReadonlyMap<Host, HostState>,
  cfg: OutlierConfig,
  stats: IntervalStats,
  eject: EjectHost,
): void {
  const sr = cfg.successRate;
  const fp = cfg.failurePercentage;
  const srHosts: Array<[Host, HostState, number]> = [];
  const fpHosts: Array<[Host, HostState, number]> = [];
  for (const [host, s] of states) {
    if (s.ejected || s.requests === 0) continue;
    const rate = (100 * (s.requests - s.failures)) / s.requests;
    if (s.requests >= Math.min(sr.requestVolume, fp.requestVolume)) s.successRate = rate;
    if (sr.enabled && s.requests >= sr.requestVolume) srHosts.push([host, s, rate]);
    if (fp.enabled && s.requests >= fp.requestVolume) fpHosts.push([host, s, rate]);
  }
  if (sr.enabled && srHosts.length > 0 && srHosts.length >= sr.minimumHosts) {
    const { mean, stdev } = meanStdev(srHosts.map(([, , r]) => r));
    const threshold = mean - sr.stdevFactor * stdev;
    stats.successRateMean = mean;
    stats.successRateThreshold = threshold;
    for (const [host, s, rate] of srHosts) {
      if (rate < threshold && !s.ejected) eject(host, s, "success_rate", { successRate: rate, mean, stdev, threshold });
    }
  }
  if (fp.enabled && fpHosts.length > 0 && fpHosts.length >= fp.minimumHosts) {
    for (const [host, s, rate] of fpHosts) {
      const failurePercent = 100 - rate;
      if (failurePercent >= fp.threshold && !s.ejected) {
        eject(host, s, "failure_percentage", { failurePercent, threshold: fp.threshold });
      }
    }
  }
}

/** Latency: mean latency above factor × the median of the qualifying hosts' means. */
export function latencyEjections(
  states: ReadonlyMap<Host, HostState>,
  cfg: OutlierConfig,
  stats: IntervalStats,
  eject: EjectHost,
): void {
  const lat = cfg.latency;
  if (!lat.enabled) return;
  const latHosts: Array<[Host, HostState, number]> = [];
  for (const [host, s] of states) {
    if (!s.ejected && s.latencyCount >= lat.requestVolume) latHosts.push([host, s, s.latencySum / s.latencyCount]);
  }
  if (latHosts.length === 0 || latHosts.length < lat.minimumHosts) return;
  const med = median(latHosts.map(([, , m]) => m));
  stats.latencyMedianMs = med;
  const limit = lat.factor * med;
  for (const [host, s, mean] of latHosts) {
    if (mean > limit && !s.ejected) {
      eject(host, s, "latency", { meanLatencyMs: mean, medianMs: med, factor: lat.factor });
    }
  }
}
