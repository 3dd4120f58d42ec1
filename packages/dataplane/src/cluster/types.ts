/** A cluster runtime's public types: its dependencies, the events it emits, warm-up state. */
import type { Clock, Random } from "../clock.js";
import type { DiscoveryEvent, Resolver } from "../discovery/discovery.js";
import type { Host } from "../host.js";
import type { OutlierEvent } from "../outlier/detector.js";
import type { PoolEvent } from "../pool/pool.js";

/** Concurrent TLS handshakes per cluster (across its endpoints). */
export const MAX_CLUSTER_HANDSHAKES = 8;

export type ClusterEvent =
  | { type: "pool"; cluster: string; host: Host; event: PoolEvent }
  | { type: "discovery"; cluster: string; event: DiscoveryEvent }
  | { type: "outlier"; cluster: string; event: OutlierEvent }
  | { type: "warmup_done"; cluster: string; host: Host; ready: number; failed: number; failures: string[] }
  /** The active health-check verdict of an endpoint changed (thresholds applied). */
  | { type: "health"; cluster: string; host: Host; healthy: boolean; detail: string; initial?: boolean }
  | { type: "host_added" | "host_removed"; cluster: string; host: Host }
  | { type: "drained"; cluster: string; host: Host; forced: number };

export interface ClusterDeps {
  clock: Clock;
  random: Random;
  localZone?: string;
  resolver?: Resolver;
  /** Reads tls.caFile; injected so the data plane does no file I/O of its own. */
  readCa?: (path: string) => string;
  onEvent?: (ev: ClusterEvent) => void;
  /**
   * "run" (default): this runtime probes its endpoints. "follow": another worker of the same
   * proxy runs the checks and its verdicts arrive through adoptHealth() (issue #15: N workers
   * must not send N times the probes, nor each find a dead endpoint on its own).
   */
  healthChecks?: "run" | "follow";
}

export interface WarmupState {
  status: "pending" | "warming" | "done" | "failed";
  ready: number;
  failed: number;
  /** Connections the plan asked for, and why (LB-directed warm-up). */
  target?: number;
  why?: string;
  reason?: string;
}
