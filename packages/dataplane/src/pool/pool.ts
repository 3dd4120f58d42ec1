/**
 * Per-endpoint connection pool with a warm floor, asynchronous refill, circuit breakers,
 * health checks on pooled connections, and graceful drain (DESIGN.md section 2).
 *
 * O(1) request path (issue #15; the LB scores every candidate's pool on every pick): the
 * connections and their counters are a ConnectionSet, waiters a WaiterQueue with one timer
 * per pool. Opening counts connections already connecting and the requests waiting for them,
 * and at most MAX_CONNECTING connects per endpoint run at once (a burst of TLS handshakes on
 * a saturated proxy makes every one of them slower). Connects: opener.ts; the warm floor and
 * refill backoff: warm-floor.ts; warm-up and the active check: warm.ts.
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { Host, PoolView } from "../host.js";
import { PooledConnection } from "./connection.js";
import { ConnectionSet } from "./connection-set.js";
import { checkOnConnection } from "./health-check.js";
import { ConnectionOpener } from "./opener.js";
import type { AcquireResult, AcquireWaiter, ConnectPurpose, HealthResult, PoolEvent, PoolSettings } from "./types.js";
import { MAX_CONNECTING } from "./types.js";
import { acquirePromise, WaiterQueue } from "./waiters.js";
import { checkPoolHealth, type PoolInternals, primeConnection, warmConnections } from "./warm.js";
import { WarmFloor } from "./warm-floor.js";

export * from "./types.js";

export class ConnectionPool implements PoolView {
  readonly host: Host;
  #settings: PoolSettings;
  readonly #clock: Clock;
  readonly #onEvent: (ev: PoolEvent) => void;
  readonly #conns = new ConnectionSet();
  readonly #waiters: WaiterQueue<AcquireWaiter>;
  readonly #opener: ConnectionOpener;
  readonly #floor: WarmFloor;
  readonly #internals: PoolInternals;
  #draining = false;
  #closed = false;
  #sweepTimer: TimerHandle | undefined;
  /** Connections handed out on a request that had been used before (for the reuse ratio). */
  #reused = 0;
  #fresh = 0;

  constructor(host: Host, settings: PoolSettings, clock: Clock, onEvent: (ev: PoolEvent) => void = () => {}) {
    this.host = host;
    this.#settings = settings;
    this.#clock = clock;
    this.#onEvent = onEvent;
    this.#waiters = new WaiterQueue<AcquireWaiter>(
      clock,
      () => this.#settings.pool.pendingTimeoutMs,
      (w) =>
        w.onAcquire({
          ok: false,
          reason: "pending_timeout",
          detail: `no connection within ${this.#settings.pool.pendingTimeoutMs} ms`,
        }),
    );
    this.#opener = new ConnectionOpener(
      host,
      () => this.#settings,
      clock,
      onEvent,
      (c) => this.#onConnectionClosed(c),
    );
    this.#floor = new WarmFloor(this, clock, settings.pool.minWarm, (purpose) => this.#open(purpose));
    const pool = this;
    this.#internals = {
      conns: this.#conns,
      get draining() {
        return pool.#draining;
      },
      get maxConnections() {
        return pool.maxConnections;
      },
      open: (purpose) => this.#opener.open(purpose),
      admit: (conn) => this.#admit(conn),
      release: (conn) => this.release(conn),
      healthOn: (conn) => this.#healthOn(conn),
      emit: onEvent,
    };
    this.#scheduleSweep();
  }

  // ---- PoolView (O(1): counters, the rest derived) ----
  /** Checkouts of a connection that had served before / of a new one (admin API). */
  get reusedCount(): number {
    return this.#reused;
  }
  get newCount(): number {
    return this.#fresh;
  }
  get idle(): number {
    return this.#conns.idle;
  }
  get active(): number {
    return this.#conns.size - this.#conns.idle;
  }
  get connecting(): number {
    return this.#conns.connecting;
  }
  get pending(): number {
    return this.#waiters.size;
  }
  get maxConnections(): number {
    return this.#settings.pool.maxConnections;
  }
  get total(): number {
    return this.#conns.total;
  }
  get draining(): boolean {
    return this.#draining;
  }
  get warmTarget(): number {
    return this.#floor.target;
  }
  get settings(): PoolSettings {
    return this.#settings;
  }

  /** Apply new pool/TLS/health settings in place; existing connections stay. */
  updateSettings(settings: PoolSettings): void {
    const minChanged = settings.pool.minWarm !== this.#settings.pool.minWarm;
    this.#settings = settings;
    if (minChanged) this.setWarmTarget(settings.pool.minWarm);
  }

  /**
   * Floor of ready connections; raised by LB-directed warm-up, the control plane and the
   * predictive scaler (issue #5), lowered again by them. Opening is asynchronous.
   */
  setWarmTarget(n: number): void {
    this.#floor.set(n);
  }

  // ---- acquire / release ----

  /**
   * Hot path: a connection at once, or undefined when `w` was queued (w.onAcquire is called
   * later, exactly once, unless cancel(w) is called first).
   */
  acquireFor(w: AcquireWaiter): AcquireResult | undefined {
    if (this.#draining || this.#closed) return { ok: false, reason: "draining", detail: "endpoint is draining" };
    const conn = this.#conns.pickIdle();
    if (conn) {
      this.#checkout(conn);
      return { ok: true, conn, waitedMs: 0, reused: conn.served };
    }
    const canOpen = this.total < this.maxConnections;
    if (!canOpen && this.#waiters.size >= this.#settings.pool.maxPendingRequests) {
      this.#onEvent({ type: "overflow", kind: "pending" });
      return { ok: false, reason: "overflow", detail: "pending request queue is full (circuit breaker)" };
    }
    this.#waiters.push(w);
    this.#openForWaiters();
    return undefined;
  }

  /** The waiter's client went away: it leaves the queue (false when it was already served). */
  cancel(w: AcquireWaiter): boolean {
    return this.#waiters.cancel(w);
  }

  /** Promise form (tests, tools): one small waiter object per call; aborting leaves the queue. */
  acquire(signal?: AbortSignal): Promise<AcquireResult> | AcquireResult {
    return acquirePromise(this, signal);
  }

  release(conn: PooledConnection): void {
    conn.inFlight = Math.max(0, conn.inFlight - 1);
    conn.lastUsedAt = this.#clock.now();
    if (conn.closed) return;
    const max = this.#settings.pool.maxRequestsPerConnection;
    if ((max > 0 && conn.requests >= max) || this.#draining) {
      // Mark at once, not when close() settles, so no waiter is handed a closing connection.
      conn.retiring = true;
      if (conn.inFlight === 0) void conn.closeGracefully();
      return;
    }
    if (conn.inFlight === 0) this.#conns.markIdle(conn);
    this.#conns.restack(conn);
    this.#serveWaiters();
  }

  #checkout(conn: PooledConnection): void {
    this.#conns.take(conn);
    conn.lastUsedAt = this.#clock.now();
    if (conn.served) this.#reused++;
    else this.#fresh++;
    // Runtime refill (seed step 4): when idle connections fall below the threshold, open
    // more asynchronously while this request is served; connections already opening count.
    const c = this.#conns;
    if (c.idle + c.connecting + c.priming < this.#settings.pool.refillThreshold) this.#open("refill", true);
  }

  #serveWaiters(): void {
    while (this.#waiters.size > 0) {
      const conn = this.#conns.pickIdle();
      if (!conn) return;
      const w = this.#waiters.shift();
      if (!w) return;
      this.#checkout(conn);
      w.onAcquire({ ok: true, conn, waitedMs: this.#clock.now() - w.enqueuedAt, reused: conn.served });
    }
  }

  /** Open connections for waiters not covered by connections already opening. */
  #openForWaiters(): void {
    while (
      this.#conns.connecting < this.#waiters.size &&
      this.#conns.connecting < MAX_CONNECTING &&
      this.total < this.maxConnections &&
      !this.#draining &&
      !this.#closed
    ) {
      this.#open("demand");
    }
  }

  #failWaiters(count: number, detail: string): void {
    for (let i = 0; i < count; i++) {
      const w = this.#waiters.shift();
      if (!w) return;
      w.onAcquire({ ok: false, reason: "connect_failed", detail });
    }
  }

  // ---- opening connections ----

  #admit(conn: PooledConnection): void {
    if (this.#closed || (this.#draining && this.#waiters.size === 0)) {
      conn.retire();
      return;
    }
    this.#conns.add(conn);
    this.#serveWaiters();
  }

  /** Fire-and-forget open used by demand, refill and scale-up. */
  #open(purpose: ConnectPurpose, onlyIfRoom = false): void {
    if (this.#draining || this.#closed) return;
    if (onlyIfRoom && this.total >= this.maxConnections) return;
    if (this.#conns.connecting >= MAX_CONNECTING) return;
    this.#conns.beginOpen();
    void this.#opener.open(purpose).then(async (opened) => {
      this.#conns.endOpen();
      let res: typeof opened | undefined = opened;
      if (opened instanceof PooledConnection && this.#primes(purpose)) {
        // Counted in the total while primed (the floor opens no other in its place), not as
        // connecting (a request arriving meanwhile gets a demand connection, not this wait).
        this.#conns.beginPrime();
        try {
          res = await primeConnection(this.#internals, opened);
        } finally {
          this.#conns.endPrime();
        }
      }
      // A connection that failed its check is not replaced at once: refilling on every failed
      // check would hammer a broken upstream; the next checkout or scaler tick tries again.
      if (res === undefined) return this.#openForWaiters();
      if (res instanceof PooledConnection) this.#admit(res);
      else if (this.#conns.size === 0 && this.#conns.connecting === 0)
        this.#failWaiters(this.#waiters.size, res.message);
      else this.#failWaiters(1, res.message);
      // Capped above: carry on with whatever is still wanted.
      this.#openForWaiters();
      if (purpose === "scale" || purpose === "refill") this.#floor.fill(purpose);
    });
  }

  /** Prime a connection opened ahead of demand only while nobody waits for one (types.ts). */
  #primes(purpose: ConnectPurpose): boolean {
    return (
      (purpose === "scale" || purpose === "refill") &&
      this.#settings.primeNewConnections === true &&
      this.#waiters.size === 0
    );
  }

  /** A connection closed: refill, after a backoff when the peer dropped it early (warm-floor.ts). */
  #onConnectionClosed(c: PooledConnection): void {
    this.#conns.delete(c);
    if (this.#draining || this.#closed) return;
    this.#floor.closed(
      c,
      () => !this.#draining && !this.#closed,
      (livedMs) => this.#onEvent({ type: "connection_lost", livedMs, requests: c.requests }),
    );
  }

  // ---- warm-up and health (warm.ts) ----

  /** Pre-connects up to `target` connections (health-checked when asked); only those that pass join. */
  async warm(
    target: number,
    opts: { healthCheck: boolean },
  ): Promise<{ ready: number; failed: number; failures: string[] }> {
    this.#floor.raise(target);
    const n = Math.max(0, Math.min(target, this.maxConnections) - this.total);
    return warmConnections(this.#internals, n, opts.healthCheck);
  }

  /** Active health check on an idle pooled connection, else on a new one kept warm if it passes. */
  checkHealth(): Promise<HealthResult> {
    return checkPoolHealth(this.#internals);
  }

  async #healthOn(conn: PooledConnection): Promise<HealthResult> {
    // A check is not a user request: the first user request on the connection is not "reused".
    conn.probes++;
    const result = await checkOnConnection(conn, this.#settings, this.host, this.#clock);
    this.#onEvent({ type: "health", ...result });
    return result;
  }

  // ---- idle sweep, drain, close ----

  #scheduleSweep(): void {
    const every = Math.max(100, Math.floor(this.#settings.pool.idleTimeoutMs / 2));
    this.#sweepTimer = this.#clock.setTimeout(() => {
      // Close connections idle longer than idleTimeoutMs, keeping the warm floor.
      this.#conns.sweep(this.#clock.now(), this.#settings.pool.idleTimeoutMs, this.#floor.target);
      if (!this.#closed) this.#scheduleSweep();
    }, every);
  }

  /**
   * Graceful drain (seed coordination 4): no new connections, no new requests; in-flight
   * requests and h2 streams finish; then every connection closes. After timeoutMs the rest
   * are destroyed.
   */
  async drain(timeoutMs: number): Promise<{ forced: number }> {
    this.#draining = true;
    const forced = await this.#conns.closeAll(this.#clock, timeoutMs);
    this.close();
    return { forced };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.#floor.cancel();
    for (const w of this.#waiters.drain()) w.onAcquire({ ok: false, reason: "draining", detail: "pool closed" });
    this.#conns.retireAll();
  }

  /** Per-connection detail for /clusters. */
  describe(): { id: number; protocol: string; state: string; requests: number; inFlight: number }[] {
    return this.#conns.describe();
  }
}
