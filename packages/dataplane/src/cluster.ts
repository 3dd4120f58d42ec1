/**
 * One cluster at run time: discovery -> HostSet -> load balancer, a pool per host, active
 * health checks on pooled connections, outlier detection and warm-up. Wires the detectors
 * to the hosts through owner-specific FlagWriters; emits typed events for telemetry.
 * Helpers it owns (src/cluster/): latency/connect estimates, active health checks, warm-up
 * and the predictive scaler.
 */
import type { Cluster } from "@meshtune/contracts";
import { HostEstimates } from "./cluster/estimates.js";
import { ClusterHealth } from "./cluster/health.js";
import { ClusterPools } from "./cluster/pools.js";
import { startScaler } from "./cluster/scaling.js";
import type { ClusterDeps, ClusterEvent, WarmupState } from "./cluster/types.js";
import { ClusterWarmup } from "./cluster/warmup.js";
import type { PredictiveScaler } from "./coord/scaler.js";
import { type DiscoveryHandle, startDiscovery } from "./discovery/discovery.js";
import type { HealthCheckTracker } from "./health/state.js";
import { type FlagWriter, flagWriter, type Host, HostSet } from "./host.js";
import { createLoadBalancer } from "./lb/index.js";
import type { HostScore, LoadBalancer } from "./lb/types.js";
import { OutlierDetector } from "./outlier/detector.js";
import type { ConnectionPool } from "./pool/pool.js";

export * from "./cluster/types.js";

export class ClusterRuntime {
  readonly name: string;
  #cfg: Cluster;
  readonly hosts: HostSet;
  #lb: LoadBalancer;
  readonly #pools: ClusterPools;
  readonly outlier: OutlierDetector;
  readonly health: HealthCheckTracker;
  readonly #drainFlag: FlagWriter;
  readonly controlFlag: FlagWriter;
  #discovery: DiscoveryHandle;
  readonly #deps: ClusterDeps;
  #started = false;
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #estimates: HostEstimates;
  readonly #hc: ClusterHealth;
  readonly #warmup: ClusterWarmup;
  #scaler: PredictiveScaler | undefined;

  constructor(cfg: Cluster, deps: ClusterDeps) {
    this.name = cfg.name;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#pools = new ClusterPools(cfg, deps.clock, deps.readCa);
    const now = () => deps.clock.now();
    this.hosts = new HostSet(now);
    this.#estimates = new HostEstimates(deps.clock, () => this.#cfg.coordination.latencyDecayMs);
    this.#warmup = new ClusterWarmup({
      cluster: this.name,
      clock: deps.clock,
      localZone: deps.localZone,
      hosts: this.hosts,
      flag: flagWriter("failed_warmup", now),
      config: () => this.#cfg,
      pool: (h) => this.#pools.get(h),
      closed: () => this.#closed,
      follows: () => this.#follows,
      emit: (ev) => this.#emit(ev),
    });
    this.#drainFlag = flagWriter("draining", now);
    this.controlFlag = flagWriter("ejected_control_plane", now);
    this.outlier = new OutlierDetector(
      this.hosts,
      cfg.outlier,
      deps.clock,
      flagWriter("ejected_outlier", now),
      (event) => this.#emit({ type: "outlier", cluster: this.name, event }),
    );
    this.#hc = new ClusterHealth({
      cluster: this.name,
      clock: deps.clock,
      random: deps.random,
      config: () => this.#cfg.healthCheck,
      runs: () => !this.#closed && !this.#follows,
      pool: (h) => this.#pools.get(h),
      rewarm: (h) => void this.warmHost(h),
      emit: (ev) => this.#emit(ev),
    });
    this.health = this.#hc.tracker;
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
    this.#discovery = this.#startDiscovery(cfg);
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
    return this.#warmup.state(host);
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

  #startDiscovery(cfg: Cluster): DiscoveryHandle {
    return startDiscovery(cfg.discovery, this.hosts, {
      clock: this.#deps.clock,
      resolver: this.#deps.resolver,
      onEvent: (event) => this.#emit({ type: "discovery", cluster: this.name, event }),
    });
  }

  #onHostAdded(host: Host): void {
    this.#pools.add(host, (event) => {
      // Connect failures on the request path count as local-origin failures for outlier
      // detection; warm-up failures are handled by the warm-up owner (warmHost).
      if (event.type === "connect_failed" && event.purpose !== "warmup" && event.purpose !== "health") {
        this.outlier.reportResult(host, { kind: "local_origin_failure", cause: `connect_${event.cause}` });
      }
      if (event.type === "connection_lost") {
        // Accepted, then dropped soon after: an upstream at its connection limit or failing.
        this.outlier.reportResult(host, { kind: "local_origin_failure", cause: "connect_reset" });
      }
      if (event.type === "connect_ok") this.#estimates.observeConnect(host, event.connectMs);
      this.#emit({ type: "pool", cluster: this.name, host, event });
    });
    this.#warmup.track(host);
    this.#emit({ type: "host_added", cluster: this.name, host });
    // Hosts of the first resolution are warmed by warmAll(); later ones one by one (review #8).
    if (this.#started) {
      this.#warmup.added(host);
      this.#hc.schedule(host, true);
    }
  }

  #onHostRemoved(host: Host): void {
    this.#emit({ type: "host_removed", cluster: this.name, host });
    this.#hc.stop(host);
    this.#drainFlag.set(host, "removed from discovery");
    this.#pools.remove(host, (forced) => this.#emit({ type: "drained", cluster: this.name, host, forced }));
    this.#warmup.forget(host);
    this.#estimates.forget(host);
  }

  /** Start warm-up and health checks. Resolves when discovery produced its first set. */
  async start(): Promise<void> {
    // Hosts from the first resolution are warmed by warmAll() (LB-directed plan); only hosts
    // that arrive after it are warmed one by one in #onHostAdded (review #8: not both).
    await this.#discovery.ready;
    this.#started = true;
    for (const h of this.hosts.hosts) this.#hc.schedule(h, false);
    this.#startScaler();
  }

  #startScaler(): void {
    this.#scaler?.close();
    this.#scaler = startScaler(this.#cfg.coordination, this.#deps.clock, this.hosts, {
      meanLatencyMs: (h) => this.meanLatencyMs(h),
      connectMs: (h) => this.connectMs(h),
      warmFloor: (h) => this.warmFloor(h),
      pool: (h) => this.#pools.get(h),
    });
  }

  /** The floor of warm connections for a host: config minWarm, LB-directed plan, control-plane override. */
  warmFloor(host: Host): number {
    return this.#warmup.floor(host);
  }

  /** Control plane: minimum warm connections for a host (undefined: back to the local value). */
  setWarmFloor(host: Host, n: number | undefined): void {
    this.#warmup.setFloor(host, n);
  }

  // ---- latency and connect estimates (coordination 3; cluster/estimates.ts) ----

  /** Upstream latency observed by the request path (ms); feeds the peak-EWMA score. */
  observeLatency(host: Host, ms: number): void {
    this.#estimates.observeLatency(host, ms);
  }

  /** Mean upstream latency (ms); before any observation, the balancer's estimate. */
  meanLatencyMs(host: Host): number {
    return this.#estimates.meanLatencyMs(host);
  }

  /** Peak-EWMA latency (ms); a host not observed yet gets the cluster's mean. */
  latencyMs(host: Host): number {
    return this.#estimates.latencyMs(host);
  }

  connectMs(host: Host): number {
    return this.#estimates.connectMs(host);
  }

  scoreOf(host: Host): HostScore {
    return this.#estimates.scoreOf(host);
  }

  predicted(host: Host) {
    return this.#scaler?.state(host);
  }

  /** Warm every current host; resolves when all attempts finished (the caller applies the deadline). */
  warmAll(): Promise<void> {
    return this.#warmup.warmAll();
  }

  warmHost(host: Host, target?: number, why?: string): Promise<void> {
    return this.#warmup.warmHost(host, target, why);
  }

  runHealthCheck(host: Host): Promise<void> {
    return this.#hc.run(host);
  }

  get #follows(): boolean {
    return this.#deps.healthChecks === "follow";
  }

  /** A verdict of the worker that runs the health checks (healthChecks: "follow"). */
  adoptHealth(host: Host, healthy: boolean, detail: string): void {
    this.#hc.adopt(host, healthy, detail);
  }

  /** Apply a new cluster config in place: hosts, pools and health state survive. */
  update(cfg: Cluster): void {
    const prev = this.#cfg;
    this.#pools.setConfig(cfg);
    this.#cfg = cfg;
    if (JSON.stringify(prev.lb) !== JSON.stringify(cfg.lb)) {
      this.#lb.close();
      this.#lb = this.#makeLb();
    }
    this.outlier.updateConfig(cfg.outlier);
    this.health.updateConfig(cfg.healthCheck);
    this.#pools.applySettings((h) => this.warmFloor(h));
    if (prev.healthCheck.enabled !== cfg.healthCheck.enabled && this.#started)
      this.#hc.enabledChanged(this.hosts.hosts);
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
      this.#discovery = this.#startDiscovery(cfg);
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
    this.#hc.stopAll();
    this.#discovery.close();
    await this.#pools.drainAll(timeoutMs, (p) => this.#drainFlag.set(p.host, "proxy shutting down"));
    this.close();
  }

  close(): void {
    this.#closed = true;
    this.#scaler?.close();
    this.#warmup.close();
    this.#hc.stopAll();
    this.#discovery.close();
    this.#lb.close();
    this.outlier.close();
    this.#unsubscribe();
    this.#pools.close();
  }
}
