/**
 * One cluster at run time: discovery -> HostSet -> load balancer, a pool per host, active
 * health checks on pooled connections, outlier detection and warm-up. Wires the detectors
 * to the hosts through owner-specific FlagWriters; emits typed events for telemetry.
 */
import type { Cluster } from "@meshtune/contracts";
import type { Clock, Random, TimerHandle } from "./clock.js";
import { Ewma, PeakEwma } from "./coord/peak-ewma.js";
import { PredictiveScaler } from "./coord/scaler.js";
import { poolAwareScore } from "./coord/score.js";
import { planWarmup } from "./coord/warmup-plan.js";
import { type DiscoveryEvent, type DiscoveryHandle, type Resolver, startDiscovery } from "./discovery/discovery.js";
import { HealthCheckTracker } from "./health/state.js";
import { type FlagWriter, flagWriter, type Host, HostSet } from "./host.js";
import { createLoadBalancer } from "./lb/index.js";
import type { HostScore, LoadBalancer } from "./lb/types.js";
import { OutlierDetector, type OutlierEvent } from "./outlier/detector.js";
import { ConnectGate, clusterTlsContext } from "./pool/connect.js";
import { ConnectionPool, type PoolEvent, type PoolSettings } from "./pool/pool.js";

/** Concurrent TLS handshakes per cluster (across its endpoints). */
export const MAX_CLUSTER_HANDSHAKES = 8;

export type ClusterEvent =
  | { type: "pool"; cluster: string; host: Host; event: PoolEvent }
  | { type: "discovery"; cluster: string; event: DiscoveryEvent }
  | { type: "outlier"; cluster: string; event: OutlierEvent }
  | { type: "warmup_done"; cluster: string; host: Host; ready: number; failed: number; failures: string[] }
  /** The active health-check verdict of an endpoint changed (thresholds applied). */
  | { type: "health"; cluster: string; host: Host; healthy: boolean; detail: string }
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

export class ClusterRuntime {
  readonly name: string;
  #cfg: Cluster;
  readonly hosts: HostSet;
  #lb: LoadBalancer;
  readonly #pools = new Map<Host, ConnectionPool>();
  readonly #warmup = new Map<Host, WarmupState>();
  readonly #hcTimers = new Map<Host, TimerHandle>();
  readonly outlier: OutlierDetector;
  readonly health: HealthCheckTracker;
  readonly #warmupFlag: FlagWriter;
  readonly #drainFlag: FlagWriter;
  readonly controlFlag: FlagWriter;
  #discovery: DiscoveryHandle;
  readonly #deps: ClusterDeps;
  #started = false;
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #draining = new Set<Promise<unknown>>();
  #ca: string | undefined;
  /** One TLS context per cluster and applied config (the CA parsed once), one handshake gate. */
  #tlsContext: PoolSettings["tlsContext"];
  readonly #gate = new ConnectGate(MAX_CLUSTER_HANDSHAKES);
  readonly #hcFlag: FlagWriter;
  readonly #warmRetry = new Map<Host, { timer: TimerHandle; attempt: number }>();
  readonly #latency = new Map<Host, PeakEwma>();
  /** Mean upstream latency per host (plain EWMA), for the predictive scaler. */
  readonly #meanLatency = new Map<Host, Ewma>();
  readonly #connectMs = new Map<Host, Ewma>();
  readonly #clusterConnectMs = new Ewma(0.2);
  /** Warm floor per host set by the control plane (minWarm / preconnect overrides). */
  readonly #floors = new Map<Host, number>();
  #scaler: PredictiveScaler | undefined;

  constructor(cfg: Cluster, deps: ClusterDeps) {
    this.name = cfg.name;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#ca = this.#readCa(cfg);
    this.#tlsContext = cfg.tls.enabled ? clusterTlsContext(this.#ca) : undefined;
    const now = () => deps.clock.now();
    this.hosts = new HostSet(now);
    this.#warmupFlag = flagWriter("failed_warmup", now);
    this.#drainFlag = flagWriter("draining", now);
    this.controlFlag = flagWriter("ejected_control_plane", now);
    this.outlier = new OutlierDetector(
      this.hosts,
      cfg.outlier,
      deps.clock,
      flagWriter("ejected_outlier", now),
      (event) => this.#emit({ type: "outlier", cluster: this.name, event }),
    );
    this.#hcFlag = flagWriter("failed_active_hc", now);
    // The clock stamps lastCheckedAt / lastTransitionAt (shown in /clusters as wall times).
    this.health = new HealthCheckTracker(cfg.healthCheck, this.#hcFlag, {
      clock: deps.clock,
      onTransition: (t) =>
        this.#emit({
          type: "health",
          cluster: this.name,
          host: t.host,
          healthy: t.transition === "became_healthy",
          detail: t.detail,
        }),
    });
    const unsubMembers = this.hosts.onChange((_hosts, change) => {
      for (const h of change.added) this.#onHostAdded(h);
      for (const h of change.removed) this.#onHostRemoved(h);
    });
    // A host that comes back (health check passes again, ejection ends) gets its warm floor
    // back before traffic returns to it, not on the first requests.
    const unsubFlags = this.hosts.onFlagChange((h, _flag, on) => {
      const pool = this.#pools.get(h);
      if (!on && h.available && pool && !pool.draining) pool.setWarmTarget(pool.warmTarget);
    });
    this.#unsubscribe = () => {
      unsubMembers();
      unsubFlags();
    };
    this.#lb = this.#makeLb();
    this.#discovery = startDiscovery(cfg.discovery, this.hosts, {
      clock: deps.clock,
      resolver: deps.resolver,
      onEvent: (event) => this.#emit({ type: "discovery", cluster: this.name, event }),
    });
  }

  get config(): Cluster {
    return this.#cfg;
  }
  get lb(): LoadBalancer {
    return this.#lb;
  }
  get discovery(): DiscoveryHandle {
    return this.#discovery;
  }
  pool(host: Host): ConnectionPool | undefined {
    return this.#pools.get(host);
  }
  warmupState(host: Host): WarmupState | undefined {
    return this.#warmup.get(host);
  }

  #emit(ev: ClusterEvent): void {
    this.#deps.onEvent?.(ev);
  }

  #makeLb(): LoadBalancer {
    return createLoadBalancer(this.hosts, this.#cfg.lb, {
      clock: this.#deps.clock,
      random: this.#deps.random,
      localZone: this.#deps.localZone,
      ...(this.#cfg.coordination.poolAwareScore ? { scoreOf: (h: Host) => this.scoreOf(h) } : {}),
    });
  }

  /** Reads tls.caFile once per applied config; hosts added later reuse it (a DNS refresh never does file I/O). */
  #readCa(c: Cluster): string | undefined {
    return c.tls.caFile && this.#deps.readCa ? this.#deps.readCa(c.tls.caFile) : undefined;
  }

  #poolSettings(): PoolSettings {
    const c = this.#cfg;
    return {
      pool: c.pool,
      tls: c.tls,
      healthCheck: c.healthCheck,
      ca: this.#ca,
      tlsContext: this.#tlsContext,
      connectGate: this.#gate,
    };
  }

  #onHostAdded(host: Host): void {
    const pool = new ConnectionPool(host, this.#poolSettings(), this.#deps.clock, (event) => {
      // Connect failures on the request path count as local-origin failures for outlier
      // detection; warm-up failures are handled by the warm-up owner (warmHost).
      if (event.type === "connect_failed" && event.purpose !== "warmup" && event.purpose !== "health") {
        this.outlier.reportResult(host, { kind: "local_origin_failure", cause: `connect_${event.cause}` });
      }
      if (event.type === "connection_lost") {
        // Accepted, then dropped soon after: an upstream at its connection limit or failing.
        this.outlier.reportResult(host, { kind: "local_origin_failure", cause: "connect_reset" });
      }
      if (event.type === "connect_ok") {
        this.#connectEwma(host).observe(event.connectMs);
        this.#clusterConnectMs.observe(event.connectMs);
      }
      this.#emit({ type: "pool", cluster: this.name, host, event });
    });
    host.pool = pool;
    this.#pools.set(host, pool);
    this.#warmup.set(host, { status: "pending", ready: 0, failed: 0 });
    this.#emit({ type: "host_added", cluster: this.name, host });
    // Endpoints added at run time are warmed at once (seed step 4, "whenever an endpoint is added").
    if (this.#started) {
      // Coordination 2 for endpoints added at run time: no real request reaches a new endpoint
      // before its warm-up verdict, as long as another endpoint can serve (review #6).
      const others = this.hosts.hosts.some((h) => h !== host && h.available);
      if (this.#cfg.warmup.enabled && this.#cfg.coordination.warmupFailureEjects && others) {
        this.#warmupFlag.set(host, "warming up (added at run time)");
        const deadline = this.#deps.clock.setTimeout(() => {
          if (host.flagReason("failed_warmup")?.startsWith("warming up")) this.#warmupFlag.clear(host);
        }, this.#cfg.warmup.deadlineMs);
        void this.warmHost(host).finally(() => deadline.cancel());
      } else void this.warmHost(host);
      this.#scheduleHealthCheck(host, true);
    }
  }

  #onHostRemoved(host: Host): void {
    this.#emit({ type: "host_removed", cluster: this.name, host });
    this.#hcTimers.get(host)?.cancel();
    this.#hcTimers.delete(host);
    this.#drainFlag.set(host, "removed from discovery");
    const pool = this.#pools.get(host);
    this.#pools.delete(host);
    this.#warmup.delete(host);
    this.#latency.delete(host);
    this.#meanLatency.delete(host);
    this.#connectMs.delete(host);
    this.#floors.delete(host);
    if (pool) {
      const p = pool.drain(this.#cfg.pool.idleTimeoutMs).then(({ forced }) => {
        this.#emit({ type: "drained", cluster: this.name, host, forced });
      });
      this.#draining.add(p);
      void p.finally(() => this.#draining.delete(p));
    }
  }

  /** Start warm-up and health checks. Resolves when discovery produced its first set. */
  async start(): Promise<void> {
    // Hosts from the first resolution are warmed by warmAll() (LB-directed plan); only hosts
    // that arrive after it are warmed one by one in #onHostAdded (review #8: not both).
    await this.#discovery.ready;
    this.#started = true;
    for (const h of this.hosts.hosts) this.#scheduleHealthCheck(h, false);
    this.#startScaler();
  }

  #startScaler(): void {
    this.#scaler?.close();
    this.#scaler = undefined;
    const co = this.#cfg.coordination;
    if (!co.predictiveScaleUp) return;
    this.#scaler = new PredictiveScaler({
      clock: this.#deps.clock,
      intervalMs: co.scaleIntervalMs,
      headroom: co.scaleHeadroom,
      hosts: () =>
        this.hosts.hosts
          .filter((h) => h.available)
          .map((host) => ({
            host,
            picks: () => host.requestsTotal,
            latencyMs: () => this.meanLatencyMs(host),
            connectMs: () => this.connectMs(host),
            floor: () => this.warmFloor(host),
            setTarget: (n: number) => {
              const pool = this.#pools.get(host);
              if (pool && n !== pool.warmTarget) pool.setWarmTarget(n);
            },
          })),
    });
    this.#scaler.start();
  }

  /** The floor of warm connections for a host: config minWarm, LB-directed plan, control-plane override. */
  warmFloor(host: Host): number {
    return this.#floors.get(host) ?? this.#warmup.get(host)?.target ?? this.#cfg.pool.minWarm;
  }

  /** Control plane: minimum warm connections for a host (undefined: back to the local value). */
  setWarmFloor(host: Host, n: number | undefined): void {
    if (n === undefined) this.#floors.delete(host);
    else this.#floors.set(host, n);
    const pool = this.#pools.get(host);
    const floor = this.warmFloor(host);
    if (pool && floor !== pool.warmTarget) pool.setWarmTarget(floor);
  }

  // ---- latency and connect estimates (coordination 3) ----

  #connectEwma(host: Host): Ewma {
    let e = this.#connectMs.get(host);
    if (!e) {
      e = new Ewma(0.2);
      this.#connectMs.set(host, e);
    }
    return e;
  }

  /** Upstream latency observed by the request path (ms); feeds the peak-EWMA score. */
  observeLatency(host: Host, ms: number): void {
    const now = this.#deps.clock.now();
    let e = this.#latency.get(host);
    if (!e) {
      e = new PeakEwma(this.#cfg.coordination.latencyDecayMs, now);
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
    const now = this.#deps.clock.now();
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

  predicted(host: Host) {
    return this.#scaler?.state(host);
  }

  /** Warm every current host; resolves when all attempts finished (the caller applies the deadline). */
  async warmAll(): Promise<void> {
    if (!this.#cfg.warmup.enabled) return;
    const plan = planWarmup(this.#cfg, this.hosts.hosts, this.#deps.localZone, this.#cfg.coordination.lbDirectedWarmup);
    // Phases run in order (zone-aware: local zone first); hosts within a phase in parallel.
    for (const phase of plan) {
      await Promise.all(phase.map((t) => this.warmHost(t.host, t.target, t.why)));
    }
  }

  async warmHost(host: Host, target?: number, why?: string): Promise<void> {
    const pool = this.#pools.get(host);
    const w = this.#cfg.warmup;
    if (!pool) return;
    const prev = this.#warmup.get(host);
    const t = target ?? prev?.target ?? this.#cfg.pool.minWarm;
    const reason = why ?? prev?.why ?? "pool.minWarm";
    if (!w.enabled || t === 0) {
      this.#warmup.set(host, { status: "done", ready: 0, failed: 0, target: 0, why: reason });
      return;
    }
    this.#warmup.set(host, { status: "warming", ready: 0, failed: 0, target: t, why: reason });
    const r = await pool.warm(t, { healthCheck: w.healthCheckOnConnection });
    if (this.#pools.get(host) !== pool) return; // removed meanwhile
    const allFailed = r.ready === 0 && r.failed > 0;
    this.#warmup.set(host, {
      status: allFailed ? "failed" : "done",
      ready: r.ready,
      failed: r.failed,
      target: t,
      why: reason,
      reason: r.failures[0],
    });
    // Warm-up failure is discovery (seed coordination 2): an endpoint none of whose warm
    // connections came up is taken out before any real request reaches it.
    if (allFailed && this.#cfg.coordination.warmupFailureEjects) {
      this.#warmupFlag.set(host, `warm-up failed: ${r.failures[0]}`);
      this.#scheduleWarmRetry(host);
    } else {
      this.#warmupFlag.clear(host);
      this.#warmRetry.get(host)?.timer.cancel();
      this.#warmRetry.delete(host);
    }
    this.#emit({ type: "warmup_done", cluster: this.name, host, ...r });
  }

  /**
   * Without active health checks nothing else would ever clear a failed warm-up (review #7):
   * re-warm on an exponential backoff (outlier.baseEjectionTimeMs, doubling, capped at
   * outlier.maxEjectionTimeMs). With health checks, a passing check re-warms sooner.
   */
  #scheduleWarmRetry(host: Host): void {
    // A follower runs no checks of its own: only the leader's "healthy" verdict (a transition)
    // or this backoff can bring a host back from a failed warm-up.
    if (this.#closed || (this.#cfg.healthCheck.enabled && !this.#follows)) return;
    const prev = this.#warmRetry.get(host);
    prev?.timer.cancel();
    const attempt = (prev?.attempt ?? 0) + 1;
    const o = this.#cfg.outlier;
    const delay = Math.min(o.maxEjectionTimeMs, o.baseEjectionTimeMs * 2 ** (attempt - 1));
    const timer = this.#deps.clock.setTimeout(() => {
      if (this.#pools.has(host)) void this.warmHost(host);
    }, delay);
    this.#warmRetry.set(host, { timer, attempt });
  }

  #scheduleHealthCheck(host: Host, immediate: boolean): void {
    // One loop per host: discovery may add a host after start() began scheduling (review #8).
    this.#hcTimers.get(host)?.cancel();
    this.#hcTimers.delete(host);
    const hc = this.#cfg.healthCheck;
    if (!hc.enabled || this.#closed || this.#follows) return;
    // Jitter spreads checks so a fleet does not probe in lock-step.
    const delay = immediate ? 0 : hc.intervalMs * (0.9 + 0.2 * this.#deps.random());
    this.#hcTimers.set(
      host,
      this.#deps.clock.setTimeout(() => {
        void this.runHealthCheck(host).finally(() => {
          if (this.#pools.has(host)) this.#scheduleHealthCheck(host, false);
        });
      }, delay),
    );
  }

  async runHealthCheck(host: Host): Promise<void> {
    const pool = this.#pools.get(host);
    if (!pool || pool.draining) return;
    const r = await pool.checkHealth();
    this.health.record(host, r.ok, r.detail);
    // A host that failed warm-up comes back through the warm-up owner once a check on a
    // fresh connection passes: it re-warms to its floor and clears its own flag.
    if (r.ok && host.hasFlag("failed_warmup")) void this.warmHost(host);
  }

  get #follows(): boolean {
    return this.#deps.healthChecks === "follow";
  }

  /** A verdict of the worker that runs the health checks (healthChecks: "follow"). */
  adoptHealth(host: Host, healthy: boolean, detail: string): void {
    if (!this.#pools.has(host) || !this.#cfg.healthCheck.enabled) return;
    const t = this.health.adopt(host, healthy, detail);
    if (t === "became_healthy" && host.hasFlag("failed_warmup")) void this.warmHost(host);
  }

  /** Apply a new cluster config in place: hosts, pools and health state survive. */
  update(cfg: Cluster): void {
    const prev = this.#cfg;
    const ca = this.#readCa(cfg);
    this.#cfg = cfg;
    this.#ca = ca;
    this.#tlsContext = cfg.tls.enabled ? clusterTlsContext(ca) : undefined;
    if (JSON.stringify(prev.lb) !== JSON.stringify(cfg.lb)) {
      this.#lb.close();
      this.#lb = this.#makeLb();
    }
    this.outlier.updateConfig(cfg.outlier);
    this.health.updateConfig(cfg.healthCheck);
    const settings = this.#poolSettings();
    for (const p of this.#pools.values()) {
      p.updateSettings(settings);
      // Keep control-plane and LB-directed floors above a new minWarm (review #9a).
      p.setWarmTarget(this.warmFloor(p.host));
    }
    if (prev.healthCheck.enabled !== cfg.healthCheck.enabled && this.#started) {
      for (const h of this.hosts.hosts) {
        if (cfg.healthCheck.enabled) this.#scheduleHealthCheck(h, true);
        else {
          this.#hcTimers.get(h)?.cancel();
          this.#hcTimers.delete(h);
          this.#hcFlag.clear(h);
        }
      }
    }
    if (JSON.stringify(prev.coordination) !== JSON.stringify(cfg.coordination)) {
      if (this.#started) this.#startScaler();
      this.#lb.close();
      this.#lb = this.#makeLb();
    }
    // A pushed cluster's endpoints belong to the control plane: a config edit does not reset
    // them to initialEndpoints (review #9b).
    const bothPushed = prev.discovery.type === "pushed" && cfg.discovery.type === "pushed";
    if (!bothPushed && JSON.stringify(prev.discovery) !== JSON.stringify(cfg.discovery)) {
      this.#discovery.close();
      this.#discovery = startDiscovery(cfg.discovery, this.hosts, {
        clock: this.#deps.clock,
        resolver: this.#deps.resolver,
        onEvent: (event) => this.#emit({ type: "discovery", cluster: this.name, event }),
      });
    }
  }

  /** Mark a host draining (control plane or operator): no new requests, no new connections. */
  drainHost(host: Host, reason: string): Promise<{ forced: number }> {
    this.#drainFlag.set(host, reason);
    const pool = this.#pools.get(host);
    return pool ? pool.drain(this.#cfg.pool.idleTimeoutMs) : Promise.resolve({ forced: 0 });
  }

  /** Graceful shutdown: drain every pool within timeoutMs. */
  async drainAll(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#scaler?.close();
    for (const t of this.#hcTimers.values()) t.cancel();
    this.#discovery.close();
    await Promise.all([
      ...[...this.#pools.values()].map((p) => {
        this.#drainFlag.set(p.host, "proxy shutting down");
        return p.drain(timeoutMs);
      }),
      ...this.#draining,
    ]);
    this.close();
  }

  close(): void {
    this.#closed = true;
    this.#scaler?.close();
    for (const r of this.#warmRetry.values()) r.timer.cancel();
    this.#warmRetry.clear();
    for (const t of this.#hcTimers.values()) t.cancel();
    this.#hcTimers.clear();
    this.#discovery.close();
    this.#lb.close();
    this.outlier.close();
    this.#unsubscribe();
    for (const p of this.#pools.values()) p.close();
  }
}
