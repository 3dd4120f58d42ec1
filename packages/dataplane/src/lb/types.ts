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
  /** The named terms behind `score`, when a custom score function supplied them (explainability). */
  terms?: Readonly<Record<string, number>>;
}

/**
 * A host's score for least_request (lower is better) with the terms that produced it. Issue #5
 * plugs a pool-pressure / latency-aware score in here (DESIGN.md section 2, coordination step 3).
 */
export interface HostScore {
  score: number;
  terms: Record<string, number>;
}
export type HostScoreFn = (host: Host, ctx: PickContext | undefined) => HostScore;

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
  /** least_request only: replaces the default active-request score (see HostScoreFn). */
  scoreOf?: HostScoreFn;
}

export type LoadBalancerFactory = (hosts: HostSet, cfg: LoadBalancerConfig, deps: LbDeps) => LoadBalancer;
