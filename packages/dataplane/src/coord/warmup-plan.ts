/**
 * LB-directed warm-up (seed coordination 1): how many connections to pre-open per endpoint,
 * and in which order, given the balancer that will use them.
 * - least_request: every endpoint at least one warm connection before the first request
 *   (P2C may pick any endpoint; Envoy never opens the first one: #21346);
 * - weighted policies (weighted_round_robin, random, ring_hash with weights): the cluster's
 *   warm budget (minWarm × endpoints) split in proportion to weight, at least one each;
 * - zone-aware: the local zone in the first phase, the other zones after it.
 * Pure: returns the plan, the cluster runtime executes it.
 */
import type { Cluster } from "@meshtune/contracts";
import type { Host } from "../host.js";

export interface WarmTarget {
  host: Host;
  target: number;
  why: string;
}

export function planWarmup(
  cfg: Cluster,
  hosts: readonly Host[],
  localZone: string | undefined,
  lbDirected: boolean,
): WarmTarget[][] {
  const minWarm = cfg.pool.minWarm;
  const max = cfg.pool.maxConnections;
  const usable = hosts.filter((h) => h.weight > 0);
  if (!lbDirected) {
    return minWarm > 0 ? [usable.map((host) => ({ host, target: minWarm, why: "pool.minWarm" }))] : [];
  }
  const policy = cfg.lb.policy;
  const targets: WarmTarget[] = [];
  const weights = usable.map((h) => h.weight);
  const equal = weights.every((w) => w === weights[0]);
  if (policy === "least_request" || equal || policy === "round_robin") {
    const t = Math.min(max, Math.max(1, minWarm));
    const why = policy === "least_request" ? "least_request: >=1 warm per endpoint" : "pool.minWarm";
    for (const host of usable) targets.push({ host, target: t, why });
  } else {
    const total = weights.reduce((a, b) => a + b, 0);
    const budget = Math.max(usable.length, minWarm * usable.length);
    for (const host of usable) {
      const share = Math.max(1, Math.round((budget * host.weight) / total));
      targets.push({ host, target: Math.min(max, share), why: `${policy}: ${host.weight}/${total} of ${budget} warm` });
    }
  }
  if (cfg.lb.zoneAware.enabled && localZone) {
    const local = targets
      .filter((t) => t.host.zone === localZone)
      .map((t) => ({ ...t, why: `${t.why}; local zone first` }));
    const rest = targets.filter((t) => t.host.zone !== localZone);
    return [local, rest].filter((p) => p.length > 0);
  }
  return [targets];
}
