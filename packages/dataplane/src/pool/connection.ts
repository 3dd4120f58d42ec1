/**
 * One upstream connection: our own HTTP/1.1 codec (h1-client.ts, decision 0029) on a socket we
 * opened ourselves, or for h2 one undici Client fed with that socket.
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
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { type Client, undiciClient } from "../undici-lean.js";
import { H1Connection, type H1Handler } from "./h1-client.js";
import { type ProbeRequest, type ProbeResponse, probeH1 } from "./h1-probe.js";

/** The request options the forwarder dispatches with (undici's names, as the h2 path takes them). */
export interface ConnDispatch {
  method: string;
  path: string;
  headers: string[];
  body: Readable | null;
  headersTimeout: number;
  bodyTimeout: number;
}

/** A handler both paths accept: the h1 codec hands header strings, undici Buffers. */
export type ConnHandler = H1Handler & Dispatcher.DispatchHandler;

export type ConnState = "idle" | "active" | "closed";

let nextId = 0;

export class PooledConnection {
  readonly id = ++nextId;
  /** h2 only: the undici Client that owns the session. */
  readonly #client: Client | undefined;
  /** h1: the codec. */
  readonly #h1: H1Connection | undefined;
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
    clock: Clock;
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
    // The codec first: its 'close' listener must see a peer's reset before ours closes the
    // connection as if the pool had (closedByPool drives warm-floor.ts's early-close backoff).
    if (opts.protocol === "h1")
      this.#h1 = new H1Connection({
        socket: opts.socket,
        clock: opts.clock,
        defaultHost: new URL(opts.origin).host,
        onUnusable: (byPeer) => (byPeer ? this.close() : this.retire()),
      });
    opts.socket.once("close", () => this.close());
    // A warm connection reset by the peer before its first request would otherwise crash the
    // process with an unhandled 'error'; the 'close' that follows retires the connection, and
    // errors during a request reach that request through the codec or undici.
    opts.socket.on("error", () => {});
    if (this.#h1) return;
    let handed: Socket | undefined = opts.socket;
    const Client = undiciClient();
    this.#client = new Client(opts.origin, {
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
    this.#client.on("disconnect", () => this.close());
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

  /** A probe (health check, priming): status and a body to discard. */
  request(opts: ProbeRequest): Promise<ProbeResponse> {
    this.requests++;
    if (this.#h1) return probeH1(this.#h1, opts);
    const client = this.#client!;
    if (this.#servername === undefined) return client.request(opts);
    // undici derives a TLS servername from each request's Host header and tears the socket
    // down when it differs from the connection's ("servername changed"). The socket is ours
    // and already verified for its SNI, so pin the servername to it. `servername` is read by
    // undici's Request (lib/core/request.js) but missing from its RequestOptions type.
    return client.request({ ...opts, servername: this.#servername } as Dispatcher.RequestOptions);
  }

  /**
   * The hot path: a handler object (raw headers, back-pressure, abort) and no promise, body
   * stream or header object per request (issue #15).
   */
  dispatch(opts: ConnDispatch, handler: ConnHandler): boolean {
    this.requests++;
    if (this.#h1) return this.#h1.dispatch({ ...opts, timeoutMs: opts.headersTimeout }, handler);
    const o: Dispatcher.DispatchOptions & { servername?: string } = opts;
    if (this.#servername !== undefined) o.servername = this.#servername;
    return this.#client!.dispatch(o, handler);
  }

  /** Immediate close decided by the pool (drain deadline, failed check, trimming). */
  retire(): void {
    if (this.closed) return; // already closed (by the peer, or before): keep who closed it
    this.retiring = true;
    this.closedByPool = true;
    this.close();
  }

  /** Immediate close (drain deadline passed, or the socket died). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#h1) this.#h1.destroy();
    else this.#client?.destroy().catch(() => {});
    this.#onClose(this);
  }

  /** Graceful: let in-flight requests finish, then close. */
  async closeGracefully(): Promise<void> {
    if (this.closed) return;
    this.retiring = true;
    this.closedByPool = true;
    if (this.#h1) await this.#h1.idle();
    else {
      try {
        await this.#client?.close();
      } catch {
        // already destroyed
      }
    }
    this.close();
  }
}
