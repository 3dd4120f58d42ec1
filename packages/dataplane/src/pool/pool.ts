/**
 * Per-endpoint connection pool with a warm floor, asynchronous refill, circuit breakers,
 * health checks on pooled connections, and graceful drain (DESIGN.md section 2).
 *
 * O(1) request path (issue #15; the LB scores every candidate's pool on every pick): idle
 * connections on a LIFO stack (the most recently used first, so older ones stay idle and the
 * sweep trims them, and h2 connections fill before another is used), the idle total a counter
 * written only by #markIdle/#markBusy, waiters in a WaiterQueue with one timer per pool.
 * Opening counts connections already connecting and the requests waiting for them, and at
 * most MAX_CONNECTING connects per endpoint run at once (a burst of TLS handshakes on a
 * saturated proxy makes every one of them slower).
 */
import type { HealthCheckConfig, PoolConfig, TlsConfig } from "@meshtune/contracts";
import type { Clock, TimerHandle } from "../clock.js";
import type { Host, PoolView } from "../host.js";
import { type ConnectFailureCause, type ConnectGate, type ConnectTarget, openConnection } from "./connect.js";
import { PooledConnection } from "./connection.js";
import { checkOnConnection } from "./health-check.js";
import { type PoolWaiter, WaiterQueue } from "./waiters.js";

/** A connection the peer closes within this long of opening counts as churn. */
const EARLY_CLOSE_MS = 1_000;
const REFILL_BACKOFF_MS = 100;
const MAX_REFILL_BACKOFF_MS = 10_000;
/** Concurrent connects per endpoint (demand, refill, scale-up; warm-up plans its own). */
export const MAX_CONNECTING = 4;

export type ConnectPurpose = "warmup" | "refill" | "demand" | "health" | "scale";

export type PoolEvent =
  | { type: "connect_ok"; connectMs: number; protocol: "h1" | "h2"; tlsResumed: boolean; purpose: ConnectPurpose }
  | { type: "connect_failed"; cause: ConnectFailureCause; message: string; connectMs: number; purpose: ConnectPurpose }
  | { type: "warmup"; outcome: "ready" | "connect_failed" | "health_failed"; detail: string }
  | { type: "health"; ok: boolean; status?: number; detail: string; latencyMs: number }
  | { type: "overflow"; kind: "connections" | "pending" }
  | { type: "connection_lost"; livedMs: number; requests: number };

export type AcquireResult =
  | { ok: true; conn: PooledConnection; waitedMs: number; reused: boolean }
  | { ok: false; reason: "overflow" | "pending_timeout" | "connect_failed" | "draining" | "aborted"; detail: string };

export type HealthResult = { ok: boolean; status?: number; detail: string; latencyMs: number };

export interface PoolSettings {
  pool: PoolConfig;
  tls: TlsConfig;
  healthCheck: HealthCheckConfig;
  /** PEM CA bundle read from tls.caFile by the caller (the data plane does no file I/O). */
  ca?: string | Buffer;
  /** h2 streams per connection. */
  maxStreams?: number;
  /** One TLS context per cluster (CA parsed once), and its bound on concurrent handshakes. */
  tlsContext?: ConnectTarget["secureContext"];
  connectGate?: ConnectGate;
}

/** A request waiting for a connection; the forwarder's attempt object implements it (no closure per wait). */
export interface AcquireWaiter extends PoolWaiter {
  onAcquire(r: AcquireResult): void;
}

export class ConnectionPool implements PoolView {
  readonly host: Host;
  #settings: PoolSettings;
  readonly #clock: Clock;
  readonly #onEvent: (ev: PoolEvent) => void;
  readonly #conns = new Set<PooledConnection>();
  /** Connections with spare capacity, most recently used on top (stale entries skipped lazily). */
  readonly #stack: PooledConnection[] = [];
  /** Connections with no request in flight; written only by #markIdle / #markBusy. */
  #idle = 0;
  /** Connections being opened (TCP/TLS, and for warm-up the on-connection health check). */
  #connecting = 0;
  readonly #waiters: WaiterQueue<AcquireWaiter>;
  #tlsSession: Buffer | undefined;
  #draining = false;
  #closed = false;
  #warmTarget: number;
  #sweepTimer: TimerHandle | undefined;
  #refillTimer: TimerHandle | undefined;
  /** Consecutive early peer closes, for refill backoff. */
  #churn = 0;
  /** Connections handed out on a request that had been used before (for the reuse ratio). */
  reusedCount = 0;
  newCount = 0;

  constructor(host: Host, settings: PoolSettings, clock: Clock, onEvent: (ev: PoolEvent) => void = () => {}) {
    this.host = host;
    this.#settings = settings;
    this.#clock = clock;
    this.#onEvent = onEvent;
    this.#warmTarget = settings.pool.minWarm;
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
    this.#scheduleSweep();
  }

  // ---- PoolView (O(1): one counter, the rest derived) ----
  get idle(): number {
    return this.#idle;
  }
  get active(): number {
    return this.#conns.size - this.#idle;
  }
  get connecting(): number {
    return this.#connecting;
  }
  get pending(): number {
    return this.#waiters.size;
  }
  get maxConnections(): number {
    return this.#settings.pool.maxConnections;
  }
  get total(): number {
    return this.#conns.size + this.#connecting;
  }
  get draining(): boolean {
    return this.#draining;
  }
  get warmTarget(): number {
    return this.#warmTarget;
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
    this.#warmTarget = Math.max(0, Math.min(n, this.maxConnections));
    this.#fillToTarget("scale");
  }

  // ---- acquire / release ----

  /**
   * Hot path: a connection at once, or undefined when `w` was queued (w.onAcquire is called
   * later, exactly once, unless cancel(w) is called first).
   */
  acquireFor(w: AcquireWaiter): AcquireResult | undefined {
    if (this.#draining || this.#closed) return { ok: false, reason: "draining", detail: "endpoint is draining" };
    const conn = this.#pickIdle();
    if (conn) {
      this.#checkout(conn);
      return { ok: true, conn, waitedMs: 0, reused: conn.requests > 0 };
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
    let resolve!: (r: AcquireResult) => void;
    const promise = new Promise<AcquireResult>((r) => {
      resolve = r;
    });
    const w: AcquireWaiter = { enqueuedAt: 0, queued: false, onAcquire: (r) => resolve(r) };
    const now = this.acquireFor(w);
    if (now) return now;
    signal?.addEventListener(
      "abort",
      () => {
        if (this.cancel(w)) resolve({ ok: false, reason: "aborted", detail: "client went away" });
      },
      { once: true },
    );
    return promise;
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
    if (conn.inFlight === 0) this.#markIdle(conn);
    if (!conn.stacked && conn.hasCapacity) {
      conn.stacked = true;
      this.#stack.push(conn);
    }
    this.#serveWaiters();
  }

  #markIdle(c: PooledConnection): void {
    if (!c.countedIdle && !c.closed) {
      c.countedIdle = true;
      this.#idle++;
    }
  }

  #markBusy(c: PooledConnection): void {
    if (c.countedIdle) {
      c.countedIdle = false;
      this.#idle--;
    }
  }

  #pickIdle(): PooledConnection | undefined {
    const st = this.#stack;
    while (st.length > 0) {
      const c = st[st.length - 1]!;
      if (c.hasCapacity) return c;
      st.pop();
      c.stacked = false;
    }
    return undefined;
  }

  #checkout(conn: PooledConnection): void {
    conn.inFlight++;
    this.#markBusy(conn);
    if (conn.inFlight >= conn.capacity && conn.stacked && this.#stack[this.#stack.length - 1] === conn) {
      this.#stack.pop();
      conn.stacked = false;
    }
    conn.lastUsedAt = this.#clock.now();
    if (conn.requests > 0) this.reusedCount++;
    else this.newCount++;
    // Runtime refill (seed step 4): when idle connections fall below the threshold, open
    // more asynchronously while this request is served; connections already opening count.
    if (this.#idle + this.#connecting < this.#settings.pool.refillThreshold) this.#open("refill", true);
  }

  #serveWaiters(): void {
    while (this.#waiters.size > 0) {
      const conn = this.#pickIdle();
      if (!conn) return;
      const w = this.#waiters.shift();
      if (!w) return;
      this.#checkout(conn);
      w.onAcquire({ ok: true, conn, waitedMs: this.#clock.now() - w.enqueuedAt, reused: conn.requests > 0 });
    }
  }

  /** Open connections for waiters not covered by connections already opening. */
  #openForWaiters(): void {
    while (
      this.#connecting < this.#waiters.size &&
      this.#connecting < MAX_CONNECTING &&
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

  #origin(): string {
    const tlsOn = this.#settings.tls.enabled;
    const h = this.host.address.includes(":") ? `[${this.host.address}]` : this.host.address;
    return `${tlsOn ? "https" : "http"}://${h}:${this.host.port}`;
  }

  /** Opens one connection; resolves to it (already in the pool) or to the failure. */
  async #connect(purpose: ConnectPurpose): Promise<PooledConnection | { cause: ConnectFailureCause; message: string }> {
    const s = this.#settings;
    const servername = s.tls.enabled ? (this.host.sni ?? s.tls.sni ?? this.host.address) : undefined;
    const r = await openConnection({
      address: this.host.address,
      port: this.host.port,
      timeoutMs: s.pool.connectTimeoutMs,
      clock: this.#clock,
      secureContext: s.tlsContext,
      gate: s.connectGate,
      tls: s.tls.enabled
        ? {
            servername,
            ca: s.ca,
            rejectUnauthorized: s.tls.rejectUnauthorized,
            alpn: s.tls.alpn,
            session: s.tls.sessionReuse ? this.#tlsSession : undefined,
            onSession: (sess) => {
              if (s.tls.sessionReuse) this.#tlsSession = sess;
            },
          }
        : undefined,
    });
    if (!r.ok) {
      this.#onEvent({ type: "connect_failed", cause: r.cause, message: r.message, connectMs: r.connectMs, purpose });
      return { cause: r.cause, message: r.message };
    }
    this.#onEvent({
      type: "connect_ok",
      connectMs: r.connectMs,
      protocol: r.protocol,
      tlsResumed: r.tlsResumed,
      purpose,
    });
    return new PooledConnection({
      origin: this.#origin(),
      socket: r.socket,
      protocol: r.protocol,
      connectMs: r.connectMs,
      now: this.#clock.now(),
      maxStreams: s.maxStreams ?? 100,
      servername,
      onClose: (c) => this.#onConnectionClosed(c),
    });
  }

  #admit(conn: PooledConnection): void {
    if (this.#closed || (this.#draining && this.#waiters.size === 0)) {
      conn.retire();
      return;
    }
    this.#conns.add(conn);
    this.#markIdle(conn);
    conn.stacked = true;
    this.#stack.push(conn);
    this.#serveWaiters();
  }

  /** Fire-and-forget open used by demand, refill and scale-up. */
  #open(purpose: ConnectPurpose, onlyIfRoom = false): void {
    if (this.#draining || this.#closed) return;
    if (onlyIfRoom && this.total >= this.maxConnections) return;
    if (this.#connecting >= MAX_CONNECTING) return;
    this.#connecting++;
    void this.#connect(purpose).then((res) => {
      this.#connecting--;
      if (res instanceof PooledConnection) this.#admit(res);
      else if (this.#conns.size === 0 && this.#connecting === 0) this.#failWaiters(this.#waiters.size, res.message);
      else this.#failWaiters(1, res.message);
      // Capped above: carry on with whatever is still wanted.
      this.#openForWaiters();
      if (purpose === "scale" || purpose === "refill") this.#fillToTarget(purpose);
    });
  }

  /**
   * A connection closed. When the peer closed it soon after it opened, refilling at once
   * would hammer an upstream that accepts and then drops connections (review finding #3):
   * back off exponentially and report it as a local-origin failure instead.
   */
  #onConnectionClosed(c: PooledConnection): void {
    this.#conns.delete(c);
    this.#markBusy(c);
    if (this.#draining || this.#closed) return;
    const lived = this.#clock.now() - c.createdAt;
    if (!c.closedByPool && lived < EARLY_CLOSE_MS) {
      this.#churn = Math.min(this.#churn + 1, 10);
      this.#onEvent({ type: "connection_lost", livedMs: lived, requests: c.requests });
      if (this.#refillTimer) return;
      const delay = Math.min(MAX_REFILL_BACKOFF_MS, REFILL_BACKOFF_MS * 2 ** (this.#churn - 1));
      this.#refillTimer = this.#clock.setTimeout(() => {
        this.#refillTimer = undefined;
        if (!this.#draining && !this.#closed) this.#fillToTarget("refill");
      }, delay);
      return;
    }
    if (lived >= EARLY_CLOSE_MS) this.#churn = 0;
    this.#fillToTarget("refill");
  }

  #fillToTarget(purpose: ConnectPurpose): void {
    // A host taken out (failed warm-up, health check, ejection, drain) is not kept warm: its
    // connections would only be refilled as fast as they fail. Warm-up re-warms it on recovery.
    if (!this.host.available) return;
    const want = Math.min(this.#warmTarget, this.maxConnections) - this.total;
    for (let i = 0; i < want && this.#connecting < MAX_CONNECTING; i++) this.#open(purpose);
  }

  // ---- warm-up and health ----

  /**
   * Pre-connects up to `target` connections and, when asked, runs the health check on each
   * new connection; only connections that pass join the pool (seed step 4).
   */
  async warm(
    target: number,
    opts: { healthCheck: boolean },
  ): Promise<{ ready: number; failed: number; failures: string[] }> {
    this.#warmTarget = Math.max(this.#warmTarget, Math.min(target, this.maxConnections));
    const n = Math.max(0, Math.min(target, this.maxConnections) - this.total);
    const failures: string[] = [];
    let ready = 0;
    await Promise.all(
      Array.from({ length: n }, async () => {
        this.#connecting++;
        try {
          const res = await this.#connect("warmup");
          if (!(res instanceof PooledConnection)) {
            failures.push(`connect ${res.cause}: ${res.message}`);
            this.#onEvent({ type: "warmup", outcome: "connect_failed", detail: `${res.cause}: ${res.message}` });
            return;
          }
          if (opts.healthCheck) {
            const hc = await this.#healthOn(res);
            if (!hc.ok) {
              res.retire();
              failures.push(`health check: ${hc.detail}`);
              this.#onEvent({ type: "warmup", outcome: "health_failed", detail: hc.detail });
              return;
            }
          }
          ready++;
          this.#onEvent({ type: "warmup", outcome: "ready", detail: `connected in ${res.connectMs.toFixed(1)} ms` });
          this.#admit(res);
        } finally {
          this.#connecting--;
        }
      }),
    );
    return { ready, failed: failures.length, failures };
  }

  /**
   * Active health check, run on an idle pooled connection where there is one (so the check
   * also proves the connections requests will use), else on a new connection that then
   * stays in the pool as a warm one.
   */
  async checkHealth(): Promise<HealthResult> {
    let conn = this.#draining ? undefined : this.#pickIdle();
    if (conn) {
      conn.inFlight++;
      this.#markBusy(conn);
      if (!conn.hasCapacity && this.#stack[this.#stack.length - 1] === conn) {
        this.#stack.pop();
        conn.stacked = false;
      }
      try {
        return await this.#healthOn(conn);
      } finally {
        this.release(conn);
      }
    }
    this.#connecting++;
    let res: PooledConnection | { cause: ConnectFailureCause; message: string };
    try {
      res = await this.#connect("health");
    } finally {
      this.#connecting--;
    }
    if (!(res instanceof PooledConnection)) {
      const r = { ok: false, detail: `connect ${res.cause}: ${res.message}`, latencyMs: 0 };
      this.#onEvent({ type: "health", ...r });
      return r;
    }
    conn = res;
    const r = await this.#healthOn(conn);
    if (r.ok && this.total < this.maxConnections) this.#admit(conn);
    else conn.retire();
    return r;
  }

  async #healthOn(conn: PooledConnection): Promise<HealthResult> {
    const result = await checkOnConnection(conn, this.#settings, this.host, this.#clock);
    this.#onEvent({ type: "health", ...result });
    return result;
  }

  // ---- idle sweep, drain, close ----

  #scheduleSweep(): void {
    const every = Math.max(100, Math.floor(this.#settings.pool.idleTimeoutMs / 2));
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.#sweep();
      if (!this.#closed) this.#scheduleSweep();
    }, every);
  }

  /** Close connections idle longer than idleTimeoutMs, keeping the warm floor. */
  #sweep(): void {
    const now = this.#clock.now();
    const idleTimeout = this.#settings.pool.idleTimeoutMs;
    let keep = this.#conns.size;
    const idle = [...this.#conns].filter((c) => c.inFlight === 0).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    for (const c of idle) {
      if (keep <= this.#warmTarget) break;
      if (now - c.lastUsedAt >= idleTimeout) {
        c.retire();
        keep--;
      }
    }
  }

  /**
   * Graceful drain (seed coordination 4): no new connections, no new requests; in-flight
   * requests and h2 streams finish; then every connection closes. After timeoutMs the rest
   * are destroyed.
   */
  async drain(timeoutMs: number): Promise<{ forced: number }> {
    this.#draining = true;
    const conns = [...this.#conns];
    let forced = 0;
    const graceful = Promise.all(conns.map((c) => c.closeGracefully()));
    let timer: TimerHandle | undefined;
    const deadline = new Promise<"timeout">((r) => {
      timer = this.#clock.setTimeout(() => r("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([graceful.then(() => "done" as const), deadline]);
    timer?.cancel();
    if (outcome === "timeout") {
      for (const c of this.#conns) {
        forced++;
        c.retire();
      }
    }
    this.close();
    return { forced };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.#refillTimer?.cancel();
    for (const w of this.#waiters.drain()) w.onAcquire({ ok: false, reason: "draining", detail: "pool closed" });
    for (const c of [...this.#conns]) c.retire();
  }

  /** Per-connection detail for /clusters. */
  describe(): { id: number; protocol: string; state: string; requests: number; inFlight: number }[] {
    return [...this.#conns].map((c) => ({
      id: c.id,
      protocol: c.protocol,
      state: c.state,
      requests: c.requests,
      inFlight: c.inFlight,
    }));
  }
}
