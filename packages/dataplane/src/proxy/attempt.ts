/**
 * One downstream request (RequestContext) and one upstream attempt (Attempt). The attempt is
 * the only object per try: it waits in the pool's queue (AcquireWaiter), is the connection's
 * dispatch handler in undici's shape (raw headers straight to writeHead, back-pressure through
 * the resume function it is handed, cancellation through the abort function), and reports its
 * own outcome. No AbortController, AbortSignal.any, promise or timer per request: the upstream
 * timeouts are the connection's (pool/h1-deadline.ts; undici's headersTimeout/bodyTimeout for
 * h2) (issue #15; nodejs/node#48419, #55328, #54614).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { ClusterRuntime } from "../cluster.js";
import type { Host } from "../host.js";
import type { PickContext } from "../lb/types.js";
import type { PooledConnection } from "../pool/connection.js";
import type { AcquireResult, AcquireWaiter, ConnectionPool } from "../pool/pool.js";
import type { ProxyErrorCause } from "./errors.js";
import { responseHeaderList } from "./headers.js";

export type AttemptOutcome =
  | { kind: "done" }
  | { kind: "failed"; cause: ProxyErrorCause; detail: string; retryable: boolean; retryOn: string };

export const DONE: AttemptOutcome = { kind: "done" };

/** Everything one downstream request carries across its attempts. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly cluster: ClusterRuntime;
  readonly clock: Clock;
  readonly method: string;
  /** Origin-form target sent upstream. */
  readonly path: string;
  /** Upstream request fields, flat. */
  headers: string[];
  readonly hasBody: boolean;
  readonly startedAt: number;
  /** What onRequestStart returned (telemetry). */
  readonly ctx: unknown;
  attempts: number;
  /** Hosts already tried (created on the first retry only). */
  tried: Set<Host> | undefined;
  /** The attempt in progress, for cancellation when the client goes away. */
  current: Attempt | undefined;
  clientClosed: boolean;
  retrying: boolean;
}

/**
 * The balancer's view of one request. `headers` is read only by policies that hash a header
 * (ring hash): node builds `req.headers` on first access, a call per field, which
 * least_request never needs (headers.ts, scanRequestFields).
 */
export class RequestPick implements PickContext {
  readonly #req: IncomingMessage;
  /** Hosts this request already tried (its retries go elsewhere). */
  exclude: ReadonlySet<Host> | undefined = undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
  }

  get headers(): IncomingMessage["headers"] {
    return this.#req.headers;
  }
}

/** The forwarder's side of an attempt's lifecycle. */
export interface AttemptSink {
  acquired(a: Attempt, r: AcquireResult): void;
  completed(a: Attempt): void;
  errored(a: Attempt, err: Error): void;
  /** The attempt is over (called exactly once, after its connection went back to the pool). */
  attemptDone(a: Attempt, out: AttemptOutcome): void;
}

export class Attempt implements AcquireWaiter, Dispatcher.DispatchHandler {
  // AcquireWaiter
  enqueuedAt = 0;
  queued = false;

  readonly rc: RequestContext;
  readonly host: Host;
  readonly pool: ConnectionPool;
  readonly number: number;
  readonly score: number | undefined;
  readonly startedAt: number;
  readonly #sink: AttemptSink;
  conn: PooledConnection | undefined;
  waitedMs = 0;
  reused = false;
  dispatchedAt = 0;
  /** Upstream latency: dispatch to response headers (what the score and outlier detection see). */
  upstreamMs = 0;
  status = 0;
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #over = false;

  constructor(
    rc: RequestContext,
    host: Host,
    pool: ConnectionPool,
    n: number,
    score: number | undefined,
    sink: AttemptSink,
  ) {
    this.rc = rc;
    this.host = host;
    this.pool = pool;
    this.number = n;
    this.score = score;
    this.#sink = sink;
    this.startedAt = rc.clock.now();
  }

  get over(): boolean {
    return this.#over;
  }
  get headersSent(): boolean {
    return this.status !== 0;
  }

  /** Ends the attempt once: releases the connection and reports. */
  end(out: AttemptOutcome): void {
    if (this.#over) return;
    this.#over = true;
    this.host.inFlight--;
    if (this.conn) this.pool.release(this.conn);
    this.#sink.attemptDone(this, out);
  }

  // ---- pool: AcquireWaiter ----
  onAcquire(r: AcquireResult): void {
    this.#sink.acquired(this, r);
  }

  // ---- the client went away ----
  cancel(): void {
    if (this.queued) {
      this.pool.cancel(this);
      this.end({ kind: "failed", cause: "client_closed", detail: "client went away", retryable: false, retryOn: "" });
    } else this.#abort?.(new Error("client went away"));
  }

  // ---- dispatch handler (undici's legacy raw-header shape: no header object parsed for us) ----
  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.rc.clientClosed) abort(new Error("client went away"));
  }

  onHeaders(statusCode: number, rawHeaders: readonly (Buffer | string)[], resume: () => void): boolean {
    // 1xx informational responses are not relayed (node answers 100-continue itself).
    if (statusCode < 200) return true;
    this.upstreamMs = this.rc.clock.now() - this.dispatchedAt;
    this.status = statusCode;
    this.#resume = resume;
    this.rc.res.writeHead(statusCode, responseHeaderList(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.rc.res;
    if (res.write(chunk)) return true;
    // Back-pressure: the connection stops reading the upstream socket until the client drains.
    // Once: the rest of a socket read may still arrive after the first `false`.
    if (!this.#awaitingDrain) {
      this.#awaitingDrain = true;
      res.once("drain", this.#onDrain);
    }
    return false;
  }

  #awaitingDrain = false;
  #onDrain = (): void => {
    this.#awaitingDrain = false;
    this.#resume?.();
  };

  onComplete(): void {
    // A response that ends its connection (Connection: close, body to EOF, bytes past it) has
    // already retired it: the h1 codec calls onUnusable before onComplete (h1-client.ts), so
    // the release below never hands a closing connection to the next waiter. HTTP/2 has no
    // Connection field (RFC 9113 §8.2.2).
    this.rc.res.end();
    this.#sink.completed(this);
  }

  onError(err: Error): void {
    this.#sink.errored(this, err);
  }
}
