/**
 * The predictive scale-up of a cluster's warm floors (issue #5): a PredictiveScaler over the
 * available hosts, fed with the request counts and the cluster's latency/connect estimates,
 * raising and lowering each pool's warm target above the host's floor.
 */
import type { Cluster } from "@meshtune/contracts";
import type { Clock } from "../clock.js";
import { PredictiveScaler } from "../coord/scaler.js";
import type { Host, HostSet } from "../host.js";
import type { ConnectionPool } from "../pool/pool.js";

export interface ScalingView {
  meanLatencyMs(host: Host): number;
  connectMs(host: Host): number;
  warmFloor(host: Host): number;
  pool(host: Host): ConnectionPool | undefined;
}

/** The started scaler, or undefined when coordination.predictiveScaleUp is off. */
export function startScaler(
  co: Cluster["coordination"],
  clock: Clock,
  hosts: HostSet,
  view: ScalingView,
): PredictiveScaler | undefined {
  if (!co.predictiveScaleUp) return undefined;
  const scaler = new PredictiveScaler({
    clock,
    intervalMs: co.scaleIntervalMs,
    headroom: co.scaleHeadroom,
    hosts: () =>
      hosts.hosts
        .filter((h) => h.available)
        .map((host) => ({
          host,
          picks: () => host.requestsTotal,
          latencyMs: () => view.meanLatencyMs(host),
          connectMs: () => view.connectMs(host),
          floor: () => view.warmFloor(host),
          setTarget: (n: number) => {
            const pool = view.pool(host);
            if (pool && n !== pool.warmTarget) pool.setWarmTarget(n);
          },
        })),
  });
  scaler.start();
  return scaler;
}
