/**
 * Per-host latency and connect-time estimates of one cluster (coordination 3): the peak-EWMA
 * latency the pool-aware LB score uses, the plain mean latency the predictive scaler uses,
 * and connect times per host and for the cluster.
 */
import type { Clock } from "../clock.js";
import { Ewma, PeakEwma } from "../coord/peak-ewma.js";
import { poolAwareScore } from "../coord/score.js";
import type { Host } from "../host.js";
import type { HostScore } from "../lb/types.js";

export class HostEstimates {
  readonly #clock: Clock;
  /** The peak-EWMA decay, read when a host's first latency arrives (the applied config's). */
  readonly #decayMs: () => number;
  readonly #latency = new Map<Host, PeakEwma>();
  /** Mean upstream latency per host (plain EWMA), for the predictive scaler. */
  readonly #meanLatency = new Map<Host, Ewma>();
  readonly #connectMs = new Map<Host, Ewma>();
  readonly #clusterConnectMs = new Ewma(0.2);

  constructor(clock: Clock, decayMs: () => number) {
    this.#clock = clock;
    this.#decayMs = decayMs;
  }

  /** A connect to `host` succeeded in `ms`. */
  observeConnect(host: Host, ms: number): void {
    let e = this.#connectMs.get(host);
    if (!e) {
      e = new Ewma(0.2);
      this.#connectMs.set(host, e);
    }
    e.observe(ms);
    this.#clusterConnectMs.observe(ms);
  }

  /** Upstream latency observed by the request path (ms); feeds the peak-EWMA score. */
  observeLatency(host: Host, ms: number): void {
    const now = this.#clock.now();
    let e = this.#latency.get(host);
    if (!e) {
      e = new PeakEwma(this.#decayMs(), now);
      this.#latency.set(host, e);
    }
    e.observe(ms, now);
    let m = this.#meanLatency.get(host);
    if (!m) {
      m = new Ewma(0.1);
      this.#meanLatency.set(host, m);
    }
    m.observe(ms);
  }

  /** Mean upstream latency (ms); before any observation, the balancer's estimate. */
  meanLatencyMs(host: Host): number {
    return this.#meanLatency.get(host)?.value ?? this.latencyMs(host);
  }

  /**
   * An endpoint with no observation yet is assumed as slow as the cluster's mean, not free:
   * otherwise a new endpoint takes a burst of requests before its first response (Linkerd
   * seeds new endpoints with a default RTT for the same reason).
   */
  latencyMs(host: Host): number {
    const now = this.#clock.now();
    const own = this.#latency.get(host);
    if (own) return own.value(now);
    let sum = 0;
    for (const e of this.#latency.values()) sum += e.value(now);
    return this.#latency.size > 0 ? sum / this.#latency.size : 0;
  }

  connectMs(host: Host): number {
    return this.#connectMs.get(host)?.value ?? this.#clusterConnectMs.value ?? 1;
  }

  scoreOf(host: Host): HostScore {
    return poolAwareScore(host, { latencyMs: this.latencyMs(host), connectMs: this.connectMs(host) });
  }

  /** The host left the cluster (the cluster-wide connect estimate keeps its samples). */
  forget(host: Host): void {
    this.#latency.delete(host);
    this.#meanLatency.delete(host);
    this.#connectMs.delete(host);
  }
}
