/**
 * A cluster's warm-up: the LB-directed plan at start, endpoints added at run time, the warm
 * floor of each host (config minWarm, the plan's target, a control-plane override), and the
 * retry that brings back a host whose warm-up failed. Warm-up failure is discovery (seed
 * coordination 2): an endpoint none of whose warm connections came up is taken out, through
 * the failed_warmup flag, before any real request reaches it.
 */
import type { Cluster } from "@meshtune/contracts";
import type { Clock, TimerHandle } from "../clock.js";
import { planWarmup } from "../coord/warmup-plan.js";
import type { FlagWriter, Host, HostSet } from "../host.js";
import type { ConnectionPool } from "../pool/pool.js";
import type { ClusterEvent, WarmupState } from "./types.js";

export interface WarmupDeps {
  cluster: string;
  clock: Clock;
  localZone: string | undefined;
  hosts: HostSet;
  /** The failed_warmup flag's writer. */
  flag: FlagWriter;
  config(): Cluster;
  pool(host: Host): ConnectionPool | undefined;
  closed(): boolean;
  /** Another worker runs the health checks (ClusterDeps.healthChecks "follow"). */
  follows(): boolean;
  emit(ev: ClusterEvent): void;
}

export class ClusterWarmup {
  readonly #d: WarmupDeps;
  readonly #states = new Map<Host, WarmupState>();
  readonly #retry = new Map<Host, { timer: TimerHandle; attempt: number }>();
  /** Warm floor per host set by the control plane (minWarm / preconnect overrides). */
  readonly #floors = new Map<Host, number>();

  constructor(deps: WarmupDeps) {
    this.#d = deps;
  }

  state(host: Host): WarmupState | undefined {
    return this.#states.get(host);
  }

  /** A host joined; it is warmed by warmAll (first resolution) or added(). */
  track(host: Host): void {
    this.#states.set(host, { status: "pending", ready: 0, failed: 0 });
  }

  /** A host left. A pending retry finds no pool and does nothing. */
  forget(host: Host): void {
    this.#states.delete(host);
    this.#floors.delete(host);
  }

  /** The floor of warm connections for a host: config minWarm, LB-directed plan, control-plane override. */
  floor(host: Host): number {
    return this.#floors.get(host) ?? this.#states.get(host)?.target ?? this.#d.config().pool.minWarm;
  }

  /** Control plane: minimum warm connections for a host (undefined: back to the local value). */
  setFloor(host: Host, n: number | undefined): void {
    if (n === undefined) this.#floors.delete(host);
    else this.#floors.set(host, n);
    const pool = this.#d.pool(host);
    const floor = this.floor(host);
    if (pool && floor !== pool.warmTarget) pool.setWarmTarget(floor);
  }

  /** Warm every current host; resolves when all attempts finished (the caller applies the deadline). */
  async warmAll(): Promise<void> {
    const cfg = this.#d.config();
    if (!cfg.warmup.enabled) return;
    const plan = planWarmup(cfg, this.#d.hosts.hosts, this.#d.localZone, cfg.coordination.lbDirectedWarmup);
    // Phases run in order (zone-aware: local zone first); hosts within a phase in parallel.
    for (const phase of plan) {
      await Promise.all(phase.map((t) => this.warmHost(t.host, t.target, t.why)));
    }
  }

  /** Endpoints added at run time are warmed at once (seed step 4, "whenever an endpoint is added"). */
  added(host: Host): void {
    const cfg = this.#d.config();
    // Coordination 2 for endpoints added at run time: no real request reaches a new endpoint
    // before its warm-up verdict, as long as another endpoint can serve (review #6).
    const others = this.#d.hosts.hosts.some((h) => h !== host && h.available);
    if (cfg.warmup.enabled && cfg.coordination.warmupFailureEjects && others) {
      this.#d.flag.set(host, "warming up (added at run time)");
      const deadline = this.#d.clock.setTimeout(() => {
        if (host.flagReason("failed_warmup")?.startsWith("warming up")) this.#d.flag.clear(host);
      }, cfg.warmup.deadlineMs);
      void this.warmHost(host).finally(() => deadline.cancel());
    } else void this.warmHost(host);
  }

  async warmHost(host: Host, target?: number, why?: string): Promise<void> {
    const d = this.#d;
    const cfg = d.config();
    const pool = d.pool(host);
    const w = cfg.warmup;
    if (!pool) return;
    const prev = this.#states.get(host);
    const t = target ?? prev?.target ?? cfg.pool.minWarm;
    const reason = why ?? prev?.why ?? "pool.minWarm";
    if (!w.enabled || t === 0) {
      this.#states.set(host, { status: "done", ready: 0, failed: 0, target: 0, why: reason });
      return;
    }
    this.#states.set(host, { status: "warming", ready: 0, failed: 0, target: t, why: reason });
    const r = await pool.warm(t, { healthCheck: w.healthCheckOnConnection });
    if (d.pool(host) !== pool) return; // removed meanwhile
    const allFailed = r.ready === 0 && r.failed > 0;
    this.#states.set(host, {
      status: allFailed ? "failed" : "done",
      ready: r.ready,
      failed: r.failed,
      target: t,
      why: reason,
      reason: r.failures[0],
    });
    // Warm-up failure is discovery (seed coordination 2): an endpoint none of whose warm
    // connections came up is taken out before any real request reaches it.
    if (allFailed && d.config().coordination.warmupFailureEjects) {
      d.flag.set(host, `warm-up failed: ${r.failures[0]}`);
      this.#scheduleRetry(host);
    } else {
      d.flag.clear(host);
      this.#retry.get(host)?.timer.cancel();
      this.#retry.delete(host);
    }
    d.emit({ type: "warmup_done", cluster: d.cluster, host, ...r });
  }

  /**
   * Without active health checks nothing else would ever clear a failed warm-up (review #7):
   * re-warm on an exponential backoff (outlier.baseEjectionTimeMs, doubling, capped at
   * outlier.maxEjectionTimeMs). With health checks, a passing check re-warms sooner.
   */
  #scheduleRetry(host: Host): void {
    const d = this.#d;
    const cfg = d.config();
    // A follower runs no checks of its own: only the leader's "healthy" verdict (a transition)
    // or this backoff can bring a host back from a failed warm-up.
    if (d.closed() || (cfg.healthCheck.enabled && !d.follows())) return;
    const prev = this.#retry.get(host);
    prev?.timer.cancel();
    const attempt = (prev?.attempt ?? 0) + 1;
    const o = cfg.outlier;
    const delay = Math.min(o.maxEjectionTimeMs, o.baseEjectionTimeMs * 2 ** (attempt - 1));
    const timer = d.clock.setTimeout(() => {
      if (d.pool(host)) void this.warmHost(host);
    }, delay);
    this.#retry.set(host, { timer, attempt });
  }

  close(): void {
    for (const r of this.#retry.values()) r.timer.cancel();
    this.#retry.clear();
  }
}
