/**
 * One upstream connection = one undici Client fed with a socket we opened ourselves.
 *
 * Why a Client per connection rather than undici's Pool/Agent: the seed needs per-connection
 * control that Pool does not expose — run the warm-up health check *on this connection* and
 * count it ready only if it passes, know idle/active/connecting counts exactly for the LB
 * score, and drain a single connection (stop new requests, let in-flight finish, then close).
 * The connector hands undici our pre-opened socket once and refuses to reconnect, so a Client
 * never silently opens a second socket behind the pool's back: when its socket dies, the
 * PooledConnection is closed and the pool decides whether to replace it.
 */
import type { Socket } from "node:net";
import type { Dispatcher } from "undici";
import { Client } from "../undici-lean.js";

export type ConnState = "idle" | "active" | "closed";

let nextId = 0;

export class PooledConnection {
  readonly id = ++nextId;
  readonly client: Client;
  readonly protocol: "h1" | "h2";
  readonly connectMs: number;
  readonly createdAt: number;
  /** Requests dispatched on this connection so far (max-requests-per-connection). */
  requests = 0;
  /** Of those, health checks (warm-up, priming, active checks): not user traffic. */
  probes = 0;
  /** It has served a user request (health checks do not count): handing it out again is reuse. */
  get served(): boolean {
    return this.requests > this.probes;
  }
  /** Streams in flight (h1: 0 or 1). */
  inFlight = 0;
  lastUsedAt: number;
  closed = false;
  /** Set synchronously when the pool decides to retire this connection: no new requests. */
  retiring = false;
  /** True when the pool (not the peer) closed the connection. */
  closedByPool = false;
  /** Pool bookkeeping (pool.ts): on the idle stack; counted in the idle total. */
  stacked = false;
  countedIdle = false;
  readonly #socket: Socket;
  /** Capacity: 1 for HTTP/1.1 (no pipelining, head-of-line blocking), maxStreams for h2. */
  readonly capacity: number;
  readonly #onClose: (conn: PooledConnection) => void;
  readonly #servername: string | undefined;

  constructor(opts: {
    origin: string;
    socket: Socket;
    protocol: "h1" | "h2";
    connectMs: number;
    now: number;
    maxStreams: number;
    /** TLS only: the SNI this connection was opened with. */
    servername?: string;
    onClose: (conn: PooledConnection) => void;
  }) {
    this.#servername = opts.servername;
    this.#socket = opts.socket;
    this.protocol = opts.protocol;
    this.connectMs = opts.connectMs;
    this.createdAt = opts.now;
    this.lastUsedAt = opts.now;
    this.capacity = opts.protocol === "h2" ? Math.max(1, opts.maxStreams) : 1;
    this.#onClose = opts.onClose;
    let handed: Socket | undefined = opts.socket;
    this.client = new Client(opts.origin, {
      allowH2: opts.protocol === "h2",
      maxConcurrentStreams: opts.maxStreams,
      pipelining: 1,
      // The pool owns idle timeouts; keep undici from closing the socket under us.
      keepAliveTimeout: 24 * 3600_000,
      keepAliveMaxTimeout: 24 * 3600_000,
      // Downstream timeouts are enforced by the proxy (504), not here.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (_options, cb) => {
        const s = handed;
        handed = undefined;
        // Answer asynchronously, as a real connector does: undici calls the connector from
        // inside its resume loop and ignores a re-entrant resume, so a synchronous callback
        // leaves the first request queued forever.
        process.nextTick(() => {
          if (s && !s.destroyed) cb(null, s);
          else cb(new Error("meshtune: connection closed; the pool opens a new one"), null);
        });
      },
    });
    opts.socket.once("close", () => this.close());
    // undici attaches its socket listeners only when the first request is dispatched; a warm
    // connection reset by the peer before that would otherwise crash the process with an
    // unhandled 'error'. The 'close' that follows retires the connection; errors during a
    // request still reach that request through undici's own listener.
    opts.socket.on("error", () => {});
    this.client.on("disconnect", () => this.close());
  }

  get state(): ConnState {
    if (this.closed) return "closed";
    return this.inFlight > 0 ? "active" : "idle";
  }

  get hasCapacity(): boolean {
    // A socket can die (peer sent Connection: close, reset) before its 'close' event marks us
    // closed; never hand such a connection to a request (review finding #1).
    return !this.closed && !this.retiring && !this.#socket.destroyed && this.inFlight < this.capacity;
  }

  request(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    this.requests++;
    if (this.#servername === undefined) return this.client.request(opts);
    // undici derives a TLS servername from each request's Host header and tears the socket
    // down when it differs from the connection's ("servername changed"). The socket is ours
    // and already verified for its SNI, so pin the servername to it. `servername` is read by
    // undici's Request (lib/core/request.js) but missing from its RequestOptions type.
    const pinned: Dispatcher.RequestOptions & { servername: string } = { ...opts, servername: this.#servername };
    return this.client.request(pinned);
  }

  /**
   * The hot path: undici's dispatch() with a handler object (raw headers, back-pressure,
   * abort) and no promise, body stream or header object per request (issue #15).
   */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.requests++;
    if (this.#servername !== undefined) (opts as { servername?: string }).servername = this.#servername;
    return this.client.dispatch(opts, handler);
  }

  /** Immediate close decided by the pool (drain deadline, failed check, trimming). */
  retire(): void {
    this.retiring = true;
    this.closedByPool = true;
    this.close();
  }

  /** Immediate close (drain deadline passed, or the socket died). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy().catch(() => {});
    this.#onClose(this);
  }

  /** Graceful: let in-flight requests finish, then close. */
  async closeGracefully(): Promise<void> {
    if (this.closed) return;
    this.retiring = true;
    this.closedByPool = true;
    try {
      await this.client.close();
    } catch {
      // already destroyed
    }
    this.close();
  }
}
