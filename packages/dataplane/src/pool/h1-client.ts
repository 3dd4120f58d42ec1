/**
 * The HTTP/1.1 client side of one pooled connection: writes a request, parses the response
 * (RFC 9112) and hands it to a handler with undici's legacy dispatch-handler shape, so the
 * forwarder's Attempt works over either. One request at a time, no pipelining.
 *
 * Why not undici's Client (decision 0029): on the same loopback run at 2,000 rps a relay of
 * node:http in front of undici's dispatch() used 94.5–105.5 CPU-ms per 1,000 requests, the
 * same relay over this kind of plain socket codec 69–72, NGINX 39.5–40.5 and the proxy 110.5–121.
 * undici's per-request Request object, header validation, kQueue and its wasm llhttp are most of
 * that difference; a pooled connection needs none of them (the pool already owns the socket,
 * its timeouts and its lifecycle).
 *
 * Framing (RFC 9112 §6.3): no body for HEAD, 1xx, 204 and 304; Transfer-Encoding chunked
 * (decoded: node re-frames the relayed body for the client); Content-Length; otherwise the
 * body runs to the end of the connection. A response that leaves the connection in doubt
 * (Connection: close, body to EOF, both Transfer-Encoding and Content-Length, bytes past the
 * response, a request body still uploading) closes it: `onUnusable` runs before `onComplete`,
 * so the pool never hands it to another request.
 *
 * The response's end is reported only after the bytes that carried it were looked at: bytes
 * past the end make the connection unusable before `onComplete`, whose caller may hand the
 * connection to a waiting request at once (review of 2026-12-02: otherwise those bytes would
 * be parsed as the next request's response).
 *
 * Timeouts: one lazily armed timer per connection on the injected Clock, not one per request;
 * the deadline is `timeoutMs` after the last byte written or read, and it does not run while
 * the handler holds the response back (a slow client is not the upstream's fault) or while the
 * request body is still being sent (as undici's headersTimeout and bodyTimeout).
 *
 * A handler that throws aborts its request (as undici's Request does): a callback's exception
 * must not escape into the socket's 'data' listener and end the process.
 */
import type { Socket } from "node:net";
import { type DeadlineState, IdleDeadline } from "./h1-deadline.js";
import { ChunkedDecoder, parseHead, type ResponseHead } from "./h1-parse.js";
import { pipeRequestBody, serializeHead } from "./h1-request.js";
import { H1Error, type H1Handler, type H1Options, type H1Request } from "./h1-types.js";

enum Phase {
  Idle = 0,
  Head = 1,
  Body = 2,
  /** The response is complete; onComplete follows once the bytes that carried it are seen. */
  Done = 3,
}
enum Framing {
  None = 0,
  Length = 1,
  Chunked = 2,
  ToEof = 3,
}
const CRLF_CRLF = Buffer.from("\r\n\r\n");

export class H1Connection {
  readonly #socket: Socket;
  readonly #defaultHost: string;
  readonly #maxHeaderBytes: number;
  readonly #onUnusable: (byPeer: boolean) => void;
  #phase = Phase.Idle;
  #handler: H1Handler | undefined;
  #isHead = false;
  #head: Buffer | undefined;
  #framing = Framing.None;
  #remaining = 0;
  #chunked: ChunkedDecoder | undefined;
  #keepAlive = true;
  #bodyDone = true;
  #stopBody: (() => void) | undefined;
  #paused = false;
  readonly #deadline: IdleDeadline;
  #unusable = false;
  /** The socket saw an error (a reset): a body read to the connection's end is cut, not complete. */
  #peerError = false;
  #idleWaiters: Array<() => void> = [];

  constructor(o: H1Options) {
    this.#socket = o.socket;
    this.#defaultHost = o.defaultHost;
    this.#maxHeaderBytes = o.maxHeaderBytes ?? 16 * 1024;
    this.#onUnusable = o.onUnusable;
    this.#deadline = new IdleDeadline(o.clock, {
      deadlineState: () => this.#deadlineState(),
      expire: (ms) => this.#expire(ms),
    });
    o.socket.on("data", (d: Buffer) => this.#onData(d));
    o.socket.on("end", () => this.#onPeerGone(false));
    o.socket.on("close", (hadError: boolean) => this.#onPeerGone(hadError || this.#peerError));
    // A reset ('error', then 'close') is handled as the peer's close; without a listener an
    // ECONNRESET on an idle connection would end the process.
    o.socket.on("error", () => {
      this.#peerError = true;
    });
  }

  get busy(): boolean {
    return this.#phase !== Phase.Idle;
  }

  /** Resolves when no request is in flight (graceful close). */
  idle(): Promise<void> {
    if (this.#phase === Phase.Idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  dispatch(req: H1Request, handler: H1Handler): boolean {
    if (this.#phase !== Phase.Idle || this.#unusable || this.#socket.destroyed) {
      const err = new H1Error("MESHTUNE_UPSTREAM_RESET", "connection closed before the request was sent");
      queueMicrotask(() => report(handler, err));
      return false;
    }
    this.#phase = Phase.Head;
    this.#handler = handler;
    this.#isHead = req.method === "HEAD";
    this.#keepAlive = true;
    this.#head = undefined;
    this.#paused = false;
    this.#deadline.start(req.timeoutMs ?? 0);
    if (!this.#call(() => handler.onConnect?.(this.#abort)) || this.#handler !== handler) return false;
    let head: { text: string; chunked: boolean };
    try {
      head = serializeHead({ ...req, hasBody: req.body != null }, this.#defaultHost);
    } catch (err) {
      this.#abort(err as Error);
      return false;
    }
    this.#socket.write(head.text, "latin1");
    this.#bodyDone = !req.body;
    if (req.body)
      this.#stopBody = pipeRequestBody(req.body, head.chunked, {
        socket: this.#socket,
        touch: () => this.#deadline.touch(),
        done: () => {
          this.#bodyDone = true;
          this.#deadline.touch(); // the headers deadline starts when the request is sent
        },
        fail: () =>
          this.#abort(new H1Error("MESHTUNE_UPSTREAM_RESET", "the request body ended early (client went away)")),
      });
    return true;
  }

  /** Closes the socket; a request in flight fails with `err`. */
  destroy(err?: Error): void {
    this.#fail(err ?? new H1Error("MESHTUNE_UPSTREAM_RESET", "connection closed by the pool"), false);
    this.#socket.destroy();
  }

  // ---- response ----

  #onData(d: Buffer): void {
    if (this.#phase === Phase.Idle) {
      // Bytes nobody asked for (a 408 before closing an idle connection, or a server out of
      // step): the server's doing, like its FIN.
      this.#markUnusable(true);
      this.#socket.destroy();
      return;
    }
    this.#deadline.touch();
    let rest: Buffer | undefined = d;
    while (rest && rest.length > 0 && (this.#phase === Phase.Head || this.#phase === Phase.Body)) {
      rest = this.#phase === Phase.Head ? this.#readHead(rest) : this.#readBody(rest);
    }
    if (this.#phase === Phase.Done) this.#complete(rest !== undefined && rest.length > 0);
  }

  /** Consumes head bytes; returns what is left of `d` after the head (undefined: need more). */
  #readHead(d: Buffer): Buffer | undefined {
    const prev = this.#head;
    const buf = prev ? Buffer.concat([prev, d]) : d;
    const end = buf.indexOf(CRLF_CRLF, prev ? Math.max(0, prev.length - 3) : 0);
    if (end < 0 ? buf.length > this.#maxHeaderBytes : end > this.#maxHeaderBytes) {
      this.#protocolError(`response header block over ${this.#maxHeaderBytes} bytes`);
      return undefined;
    }
    if (end < 0) {
      this.#head = buf;
      return undefined;
    }
    this.#head = undefined;
    const parsed = parseHead(buf.toString("latin1", 0, end));
    if (!parsed.ok) {
      this.#protocolError(parsed.error);
      return undefined;
    }
    const rest = buf.subarray(end + 4);
    if (parsed.head.status < 200) {
      if (parsed.head.status === 101) this.#protocolError("unexpected 101 Switching Protocols");
      return rest; // 1xx informational: the final response follows
    }
    this.#startBody(parsed.head);
    return rest;
  }

  #startBody(h: ResponseHead): void {
    this.#keepAlive = h.keepAlive;
    if (this.#isHead || h.status === 204 || h.status === 304) this.#framing = Framing.None;
    else if (h.chunked) {
      this.#framing = Framing.Chunked;
      this.#chunked = new ChunkedDecoder();
      // Transfer-Encoding with Content-Length may be a smuggling attempt (RFC 9112 §6.3).
      if (h.contentLength !== undefined) this.#keepAlive = false;
    } else if (h.contentLength !== undefined) {
      this.#framing = Framing.Length;
      this.#remaining = h.contentLength;
    } else {
      this.#framing = Framing.ToEof;
      this.#keepAlive = false;
    }
    this.#phase = Phase.Body;
    const handler = this.#handler;
    if (!this.#call(() => handler?.onHeaders?.(h.status, h.headers, this.#resume, h.statusText))) return;
    if (this.#framing === Framing.None || (this.#framing === Framing.Length && this.#remaining === 0))
      this.#phase = Phase.Done;
  }

  #readBody(d: Buffer): Buffer | undefined {
    switch (this.#framing) {
      case Framing.Length: {
        const n = Math.min(d.length, this.#remaining);
        this.#remaining -= n;
        this.#deliver(n === d.length ? d : d.subarray(0, n));
        if (this.#remaining === 0 && this.#phase === Phase.Body) this.#phase = Phase.Done;
        return n === d.length ? undefined : d.subarray(n);
      }
      case Framing.Chunked: {
        const r = this.#chunked!.push(d, (c) => this.#deliver(c));
        if (r.error) {
          this.#protocolError(r.error);
          return undefined;
        }
        if (r.done && this.#phase === Phase.Body) this.#phase = Phase.Done;
        return r.rest;
      }
      case Framing.ToEof:
        this.#deliver(d);
        return undefined;
      default:
        return d;
    }
  }

  #deliver(chunk: Buffer): void {
    if (chunk.length === 0 || this.#phase !== Phase.Body) return;
    const handler = this.#handler;
    let more = true;
    const ok = this.#call(() => {
      more = handler?.onData?.(chunk) !== false;
    });
    if (ok && !more) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #resume = (): void => {
    if (!this.#paused) return;
    this.#paused = false;
    this.#deadline.touch();
    if (!this.#socket.destroyed) this.#socket.resume();
  };

  /** 'end' or 'close' from the server's side. */
  #onPeerGone(reset: boolean): void {
    // A body framed by the connection's end is complete at a clean end only; after a reset it
    // is cut short (as undici: the client must not get a well-formed truncated response).
    if (!reset && this.#phase === Phase.Body && this.#framing === Framing.ToEof) {
      this.#phase = Phase.Done;
      return this.#complete(false);
    }
    if (this.#phase === Phase.Idle) this.#markUnusable(true);
    else this.#fail(new H1Error("MESHTUNE_UPSTREAM_RESET", "other side closed"), true);
  }

  /** The response is over; `extra`: bytes followed it. Reports onComplete last. */
  #complete(extra: boolean): void {
    const handler = this.#handler;
    const reusable = this.#keepAlive && this.#bodyDone && !extra && !this.#unusable;
    this.#stopBody?.();
    this.#finish();
    if (!reusable) {
      this.#markUnusable(false);
      this.#socket.destroy();
    }
    if (!handler) return;
    try {
      handler.onComplete?.(null);
    } catch (err) {
      // As undici's Request: a failure while completing is the request's error.
      report(handler, err);
    }
  }

  #finish(): void {
    this.#phase = Phase.Idle;
    this.#handler = undefined;
    this.#chunked = undefined;
    this.#stopBody = undefined;
    this.#head = undefined;
    // The timer stays armed: it finds the connection idle and lapses, or serves the next
    // request (re-armed for what is left) - no timer per request.
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
    if (this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Ends the request in flight (if any) with `err`; once: re-entrant calls find no handler. */
  #fail(err: Error, byPeer: boolean): void {
    const handler = this.#handler;
    if (handler) {
      this.#stopBody?.();
      this.#finish();
    }
    this.#markUnusable(byPeer);
    if (handler) report(handler, err);
  }

  #abort = (err?: Error): void => {
    if (!this.#handler) return;
    this.#fail(err ?? new H1Error("MESHTUNE_UPSTREAM_RESET", "request aborted"), false);
    this.#socket.destroy();
  };

  /** Runs a handler callback; one that throws aborts the request. False when it did. */
  #call(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.#abort(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  #protocolError(detail: string): void {
    this.#abort(new H1Error("MESHTUNE_UPSTREAM_PROTOCOL", `upstream protocol error: ${detail}`));
  }

  #markUnusable(byPeer: boolean): void {
    if (this.#unusable) return;
    this.#unusable = true;
    // The timer's closure would keep this connection (and its PooledConnection) alive until it
    // lapsed: 1,000 closed connections held 2.5 MiB in the second review's measurement.
    this.#deadline.cancel();
    this.#onUnusable(byPeer);
  }

  // ---- the inactivity deadline (h1-deadline.ts) ----

  #deadlineState(): DeadlineState {
    if (this.#phase === Phase.Idle) return "idle";
    // Held back by the client, or waiting for the client's body: not the upstream's delay.
    // An upstream that stops reading the body (the socket needs a drain) is.
    return this.#paused || (!this.#bodyDone && !this.#socket.writableNeedDrain) ? "held" : "running";
  }

  #expire(timeoutMs: number): void {
    const headers = this.#phase === Phase.Head;
    this.#abort(
      new H1Error(
        headers ? "MESHTUNE_HEADERS_TIMEOUT" : "MESHTUNE_BODY_TIMEOUT",
        `no ${headers ? "response headers" : "response data"} within ${timeoutMs} ms`,
      ),
    );
  }
}

/** Hands `err` to the handler's onError; an exception there is reported as a warning, not thrown into a socket listener. */
function report(handler: H1Handler, err: unknown): void {
  try {
    handler.onError?.(err instanceof Error ? err : new Error(String(err)));
  } catch (e) {
    process.emitWarning(e instanceof Error ? e : String(e), "MeshtuneHandlerError");
  }
}

export { H1Error, type H1ErrorCode, type H1Handler, type H1Options, type H1Request } from "./h1-types.js";
