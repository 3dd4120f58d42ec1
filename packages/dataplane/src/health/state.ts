/**
 * Active health-check state machine: turns check outcomes into the "failed_active_hc" flag
 * (Envoy's FAILED_ACTIVE_HC) after `unhealthyThreshold` consecutive failures, and clears it after
 * `healthyThreshold` consecutive successes
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/health_checking).
 * Pure: whoever runs the check (on a pooled connection, DESIGN.md section 2) calls record().
 *
 * New hosts start healthy by default — whether an endpoint may take traffic before its first
 * check is the warm-up owner's decision, expressed through its own "failed_warmup" flag. With
 * `initiallyHealthy: false` a new host starts flagged and, as in Envoy, a single passing check
 * is enough for a host that has never been checked.
 *
 * State lives in a WeakMap keyed by the Host object: it survives a DNS re-resolve that keeps the
 * address (same object) and is dropped with the Host when it leaves the set.
 */
import type { HealthCheckConfig } from "@meshtune/contracts";
import type { Clock } from "../clock.js";
import type { FlagWriter, Host } from "../host.js";
import type { HostSource } from "../lb/source.js";

export type HealthThresholds = Pick<HealthCheckConfig, "healthyThreshold" | "unhealthyThreshold">;

export type HealthTransition = "none" | "became_healthy" | "became_unhealthy";

export interface HealthTransitionEvent {
  host: Host;
  transition: Exclude<HealthTransition, "none">;
  detail: string;
  at: number | undefined;
}

export interface HealthCheckTrackerOptions {
  /** Subscribe to membership so new hosts get their initial state at once. */
  hosts?: HostSource;
  /** Timestamps in snapshots and events. */
  clock?: Clock;
  /** Default true. false: new hosts are flagged until their first passing check. */
  initiallyHealthy?: boolean;
  onTransition?: (event: HealthTransitionEvent) => void;
}

export interface HealthSnapshot {
  healthy: boolean;
  /** False until the first check result arrives. */
  checked: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  totalChecks: number;
  lastDetail?: string;
  lastCheckedAt?: number;
  lastTransitionAt?: number;
}

interface State {
  healthy: boolean;
  checked: boolean;
  successes: number;
  failures: number;
  total: number;
  lastDetail: string | undefined;
  lastCheckedAt: number | undefined;
  lastTransitionAt: number | undefined;
}

export class HealthCheckTracker {
  #cfg: HealthThresholds;
  readonly #writer: FlagWriter;
  readonly #clock: Clock | undefined;
  readonly #initiallyHealthy: boolean;
  readonly #onTransition: ((event: HealthTransitionEvent) => void) | undefined;
  readonly #states = new WeakMap<Host, State>();
  readonly #unsubscribe: (() => void) | undefined;

  constructor(cfg: HealthThresholds, writer: FlagWriter, opts: HealthCheckTrackerOptions = {}) {
    if (writer.flag !== "failed_active_hc") {
      throw new Error(`HealthCheckTracker needs the failed_active_hc writer, got ${writer.flag}`);
    }
    this.#cfg = cfg;
    this.#writer = writer;
    this.#clock = opts.clock;
    this.#initiallyHealthy = opts.initiallyHealthy ?? true;
    this.#onTransition = opts.onTransition;
    if (opts.hosts !== undefined) {
      for (const h of opts.hosts.hosts) this.#state(h);
      this.#unsubscribe = opts.hosts.onChange((_all, change) => {
        for (const h of change.added) this.#state(h);
      });
    }
  }

  updateConfig(cfg: HealthThresholds): void {
    this.#cfg = cfg;
  }

  /** Record one check outcome; returns the transition it caused, if any. */
  record(host: Host, ok: boolean, detail = ""): HealthTransition {
    const s = this.#state(host);
    const now = this.#clock?.now();
    s.total++;
    s.lastDetail = detail;
    s.lastCheckedAt = now;
    const firstCheck = !s.checked;
    s.checked = true;
    if (ok) {
      s.successes++;
      s.failures = 0;
      if (!s.healthy && (s.successes >= this.#cfg.healthyThreshold || firstCheck)) {
        s.healthy = true;
        s.lastTransitionAt = now;
        this.#writer.clear(host);
        this.#onTransition?.({ host, transition: "became_healthy", detail, at: now });
        return "became_healthy";
      }
    } else {
      s.failures++;
      s.successes = 0;
      if (s.healthy && s.failures >= this.#cfg.unhealthyThreshold) {
        s.healthy = false;
        s.lastTransitionAt = now;
        this.#writer.set(host, detail === "" ? "active health check failed" : `active health check: ${detail}`);
        this.#onTransition?.({ host, transition: "became_unhealthy", detail, at: now });
        return "became_unhealthy";
      }
    }
    return "none";
  }

  /**
   * Take over the verdict of a tracker that runs the checks elsewhere (another worker of the
   * same proxy, workers/peer.ts): the flag follows it at once, with no thresholds of our own,
   * since the thresholds were already applied where the checks ran. No onTransition: the
   * verdict is not ours to announce again. Returns the transition it caused here.
   */
  adopt(host: Host, healthy: boolean, detail = ""): HealthTransition {
    const s = this.#state(host);
    const now = this.#clock?.now();
    s.checked = true;
    s.lastDetail = detail;
    s.lastCheckedAt = now;
    if (s.healthy === healthy) return "none";
    s.healthy = healthy;
    s.successes = 0;
    s.failures = 0;
    s.lastTransitionAt = now;
    if (healthy) this.#writer.clear(host);
    else this.#writer.set(host, detail === "" ? "active health check failed" : `active health check: ${detail}`);
    return healthy ? "became_healthy" : "became_unhealthy";
  }

  snapshot(host: Host): HealthSnapshot {
    const s = this.#state(host);
    const snap: HealthSnapshot = {
      healthy: s.healthy,
      checked: s.checked,
      consecutiveSuccesses: s.successes,
      consecutiveFailures: s.failures,
      totalChecks: s.total,
    };
    if (s.lastDetail !== undefined) snap.lastDetail = s.lastDetail;
    if (s.lastCheckedAt !== undefined) snap.lastCheckedAt = s.lastCheckedAt;
    if (s.lastTransitionAt !== undefined) snap.lastTransitionAt = s.lastTransitionAt;
    return snap;
  }

  close(): void {
    this.#unsubscribe?.();
  }

  #state(host: Host): State {
    let s = this.#states.get(host);
    if (s !== undefined) return s;
    // A host already flagged by a previous tracker of this cluster keeps that verdict.
    const healthy = host.hasFlag("failed_active_hc") ? false : this.#initiallyHealthy;
    s = {
      healthy,
      checked: false,
      successes: 0,
      failures: 0,
      total: 0,
      lastDetail: undefined,
      lastCheckedAt: undefined,
      lastTransitionAt: undefined,
    };
    this.#states.set(host, s);
    if (!healthy && !host.hasFlag("failed_active_hc")) this.#writer.set(host, "not yet health checked");
    return s;
  }
}
