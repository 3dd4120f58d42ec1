/**
 * The connection pool of every host of a cluster, and what they share: the CA bundle read
 * once per applied config, one TLS context (the CA parsed once) and one bound on concurrent
 * TLS handshakes. A host that leaves drains in the background; shutdown waits for those too.
 */
import type { Cluster } from "@meshtune/contracts";
import type { Clock } from "../clock.js";
import type { Host } from "../host.js";
import { ConnectGate, clusterTlsContext } from "../pool/connect.js";
import { ConnectionPool, type PoolEvent, type PoolSettings } from "../pool/pool.js";
import { MAX_CLUSTER_HANDSHAKES } from "./types.js";

export class ClusterPools {
  readonly #pools = new Map<Host, ConnectionPool>();
  /** Drains of removed hosts still running. */
  readonly #draining = new Set<Promise<unknown>>();
  readonly #clock: Clock;
  readonly #readCa: ((path: string) => string) | undefined;
  #cfg!: Cluster;
  #ca: string | undefined;
  #tlsContext: PoolSettings["tlsContext"];
  readonly #gate = new ConnectGate(MAX_CLUSTER_HANDSHAKES);

  constructor(cfg: Cluster, clock: Clock, readCa: ((path: string) => string) | undefined) {
    this.#clock = clock;
    this.#readCa = readCa;
    this.setConfig(cfg);
  }

  /**
   * Reads tls.caFile once per applied config; hosts added later reuse it (a DNS refresh never
   * does file I/O). Existing pools get the new settings from applySettings.
   */
  setConfig(cfg: Cluster): void {
    const ca = cfg.tls.caFile && this.#readCa ? this.#readCa(cfg.tls.caFile) : undefined;
    this.#cfg = cfg;
    this.#ca = ca;
    this.#tlsContext = cfg.tls.enabled ? clusterTlsContext(ca) : undefined;
  }

  #settings(): PoolSettings {
    const c = this.#cfg;
    return {
      pool: c.pool,
      tls: c.tls,
      healthCheck: c.healthCheck,
      primeNewConnections: c.warmup.enabled && c.warmup.healthCheckOnConnection,
      ca: this.#ca,
      tlsContext: this.#tlsContext,
      connectGate: this.#gate,
    };
  }

  /** Every pool takes the current settings and `floor(host)` as its warm target. */
  applySettings(floor: (host: Host) => number): void {
    const settings = this.#settings();
    for (const p of this.#pools.values()) {
      p.updateSettings(settings);
      // Keep control-plane and LB-directed floors above a new minWarm (review #9a).
      p.setWarmTarget(floor(p.host));
    }
  }

  get(host: Host): ConnectionPool | undefined {
    return this.#pools.get(host);
  }

  has(host: Host): boolean {
    return this.#pools.has(host);
  }

  values(): IterableIterator<ConnectionPool> {
    return this.#pools.values();
  }

  /** A host joined: its pool, attached to the host. */
  add(host: Host, onEvent: (ev: PoolEvent) => void): ConnectionPool {
    const pool = new ConnectionPool(host, this.#settings(), this.#clock, onEvent);
    host.pool = pool;
    this.#pools.set(host, pool);
    return pool;
  }

  /** A host left: its pool drains in the background (idleTimeoutMs at most). */
  remove(host: Host, onDrained: (forced: number) => void): void {
    const pool = this.#pools.get(host);
    this.#pools.delete(host);
    if (!pool) return;
    const p = pool.drain(this.#cfg.pool.idleTimeoutMs).then(({ forced }) => onDrained(forced));
    this.#draining.add(p);
    void p.finally(() => this.#draining.delete(p));
  }

  /** Drain every pool within timeoutMs (`before` runs first for each); also awaits removed hosts' drains. */
  async drainAll(timeoutMs: number, before: (pool: ConnectionPool) => void): Promise<void> {
    await Promise.all([
      ...[...this.#pools.values()].map((p) => {
        before(p);
        return p.drain(timeoutMs);
      }),
      ...this.#draining,
    ]);
  }

  close(): void {
    for (const p of this.#pools.values()) p.close();
  }
}
