import type { LbPolicy, LoadBalancerConfig } from "@meshtune/contracts";
import type { Clock, Random } from "../clock.js";
import type { Host, HostSet } from "../host.js";

export interface PickContext {
  /** Lower-cased request headers (ring hash reads its configured header). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Hosts to avoid (already tried by this request: retries go to another endpoint). */
  exclude?: ReadonlySet<Host>;
}

/** Why a host was picked, for /clusters and telemetry. */
export interface PickResult {
  host: Host;
  /** The policy's score for the picked host, when it has one (lower is better). */
  score?: number;
}

export interface LoadBalancer {
  readonly policy: LbPolicy;
  /** undefined when no host is available (the listener answers 503). */
  pick(ctx?: PickContext): PickResult | undefined;
  /** Stop listening to the host set. */
  close(): void;
}

export interface LbDeps {
  clock: Clock;
  random: Random;
  /** The proxy's own zone, for zone-aware balancing. */
  localZone?: string;
}

export type LoadBalancerFactory = (hosts: HostSet, cfg: LoadBalancerConfig, deps: LbDeps) => LoadBalancer;
