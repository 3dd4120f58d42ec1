/**
 * One factory for every policy (undici style: one dispatch interface, factories injected).
 * Zone-aware preference wraps whichever policy is configured.
 */
import type { LoadBalancerConfig } from "@meshtune/contracts";
import { LeastRequestLoadBalancer } from "./least-request.js";
import { RandomLoadBalancer } from "./random.js";
import { RingHashLoadBalancer } from "./ring-hash.js";
import { RoundRobinLoadBalancer } from "./round-robin.js";
import type { HostSource } from "./source.js";
import type { LbDeps, LoadBalancer, LoadBalancerFactory } from "./types.js";
import { WeightedRoundRobinLoadBalancer } from "./weighted-round-robin.js";
import { ZoneAwareLoadBalancer } from "./zone-aware.js";

/** The configured policy over `source`, without the zone-aware wrapper. */
export function createPolicy(source: HostSource, cfg: LoadBalancerConfig, deps: LbDeps): LoadBalancer {
  switch (cfg.policy) {
    case "round_robin":
      return new RoundRobinLoadBalancer(source, deps);
    case "weighted_round_robin":
      return new WeightedRoundRobinLoadBalancer(source, cfg.slowStart, deps);
    case "least_request":
      return new LeastRequestLoadBalancer(
        source,
        {
          choiceCount: cfg.choiceCount,
          activeRequestBias: cfg.activeRequestBias,
          slowStart: cfg.slowStart,
          ...(deps.scoreOf !== undefined ? { scoreOf: deps.scoreOf } : {}),
        },
        deps,
      );
    case "ring_hash":
      return new RingHashLoadBalancer(source, cfg.ringHash, deps);
    case "random":
      return new RandomLoadBalancer(source, cfg.slowStart, deps);
    default: {
      const unknown: never = cfg.policy;
      throw new Error(`unknown load-balancer policy '${String(unknown)}'`);
    }
  }
}

/**
 * The load balancer for a cluster. With zoneAware.enabled the result is a ZoneAwareLoadBalancer
 * (check with `instanceof` to read lastZoneMode); without deps.localZone it reports "disabled".
 */
export const createLoadBalancer: LoadBalancerFactory = (hosts, cfg, deps) => {
  if (!cfg.zoneAware.enabled) return createPolicy(hosts, cfg, deps);
  return new ZoneAwareLoadBalancer(hosts, cfg.zoneAware, deps.localZone, (source) => createPolicy(source, cfg, deps));
};
