/**
 * One simulated upstream endpoint: a loopback listener plus an HTTP/1.1, h2c, HTTPS or h2
 * server, with faults that can change while it runs.
 *
 * Connection-level faults need control before the HTTP (or TLS) server sees a socket, so the
 * listener is a plain net.Server with `pauseOnConnect`: it accepts, counts, holds the socket
 * for acceptDelayMs (+ tlsDelayMs on TLS endpoints), then hands it to the protocol server by
 * emitting 'connection' on it (the same hand-off node:http documents for sockets accepted
 * elsewhere). blackHole simply never hands the socket over, and `refuse` closes the listener
 * (a new one listens on the same port when it is cleared). The kernel completes the TCP
 * handshake either way, so a client's connect() always succeeds quickly: acceptDelay and
 * blackHole show up as a slow or missing first response (or TLS handshake), as with a real
 * overloaded or partitioned server behind a full accept queue.
 */

import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import type tls from "node:tls";
import {
  applyFaultsPatch,
  type Faults,
  type FaultsPatch,
  type SimEndpoint,
  type SimEndpointStatus,
  type SimStats,
} from "@meshtune/contracts";
import { sampleLatencyMs } from "./latency.js";

/** Largest body a `?bytes=` override may ask for. */
const MAX_OVERRIDE_BYTES = 64 * 1024 * 1024;

interface ConnInfo {
  readonly id: number;
  requests: number;
}

/** The response methods shared by http.ServerResponse and http2.Http2ServerResponse. */
interface SimResponse {
  writeHead(status: number, headers: http.OutgoingHttpHeaders): unknown;
  write(chunk: Buffer, cb?: (err?: Error | null) => void): boolean;
  end(chunk?: Buffer): unknown;
  flushHeaders(): void;
  once(event: "close", fn: () => void): unknown;
  readonly headersSent: boolean;
}

type SimRequest = http.IncomingMessage | http2.Http2ServerRequest;
type ProtocolServer = http.Server | https.Server | http2.Http2Server | http2.Http2SecureServer;

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface EndpointServerOptions {
  tls: TlsMaterial;
  random: () => number;
}

// Process-wide, so ids stay unique across endpoints and simulators (tests compare them).
let nextConnectionId = 1;

function emptyStats(): SimStats {
  return {
    requests: 0,
    healthChecks: 0,
    connectionsAccepted: 0,
    connectionsOpen: 0,
    connectionsPeak: 0,
    tlsHandshakes: 0,
    tlsErrors: 0,
    resets: 0,
    blackHoled: 0,
    inFlight: 0,
    statuses: {},
  };
}

const bodyCache = new Map<number, Buffer>();
function bodyOf(bytes: number): Buffer {
  let b = bodyCache.get(bytes);
  if (b === undefined) {
    b = Buffer.alloc(bytes, 0x78); // "x"
    if (bodyCache.size >= 16) bodyCache.clear();
    bodyCache.set(bytes, b);
  }
  return b;
}

function headerValue(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A per-request override from `?name=` or the `x-sim-<header>` request header. */
function overrideNumber(
  query: URLSearchParams,
  req: SimRequest,
  param: string,
  header: string,
  min: number,
  max: number,
): number | undefined {
  const raw = query.get(param) ?? headerValue(req, header);
  if (raw === undefined || raw === null || raw === "") return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
}

function formatHostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export class EndpointServer {
  readonly config: SimEndpoint;
  readonly isTls: boolean;
  #faults: Faults;
  #port: number;
  #stats: SimStats = emptyStats();
  readonly #random: () => number;
  readonly #app: ProtocolServer;
  #listener: net.Server | null = null;
  /** Every listener ever opened: close() waits for all of them (refuse toggles open new ones). */
  readonly #listeners = new Set<net.Server>();
  readonly #sockets = new Set<net.Socket>();
  readonly #tlsSockets = new Set<tls.TLSSocket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** Keyed by "remoteAddress|remotePort": the same on the raw socket, its TLSSocket and h2 session. */
  readonly #conns = new Map<string, ConnInfo>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Serialises listen/unlisten so quick refuse toggles apply in order. */
  #listenChain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(config: SimEndpoint, opts: EndpointServerOptions) {
    this.config = config;
    this.#faults = structuredClone(config.faults);
    this.#port = config.port;
    this.#random = opts.random;
    this.isTls = config.protocol === "https" || config.protocol === "h2";
    this.#app = this.#createProtocolServer(opts.tls);
  }

  get name(): string {
    return this.config.name;
  }
  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `${this.isTls ? "https" : "http"}://${formatHostForUrl(this.config.host)}:${this.#port}`;
  }
  get listening(): boolean {
    return this.#listener !== null;
  }
  get faults(): Faults {
    return structuredClone(this.#faults);
  }

  stats(): SimStats {
    return { ...this.#stats, statuses: { ...this.#stats.statuses } };
  }

  resetStats(): void {
    const open = this.#stats.connectionsOpen;
    const inFlight = this.#stats.inFlight;
    // Gauges keep their current value; counters start again from zero.
    this.#stats = { ...emptyStats(), connectionsOpen: open, connectionsPeak: open, inFlight };
  }

  status(): SimEndpointStatus {
    const s: SimEndpointStatus = {
      name: this.name,
      url: this.url,
      host: this.config.host,
      port: this.#port,
      protocol: this.config.protocol,
      listening: this.listening,
      faults: this.faults,
      stats: this.stats(),
    };
    if (this.config.zone !== undefined) s.zone = this.config.zone;
    return s;
  }

  /** Applies a (validated) patch; resolves once the listener matches `refuse`. */
  async setFaults(patch: FaultsPatch): Promise<Faults> {
    this.#faults = applyFaultsPatch(this.#faults, patch);
    await this.#syncListening();
    return this.faults;
  }

  async replaceFaults(faults: Faults): Promise<Faults> {
    this.#faults = structuredClone(faults);
    await this.#syncListening();
    return this.faults;
  }

  async start(): Promise<void> {
    if (this.#faults.refuse) {
      // Still bind once so port 0 resolves to a real port that later un-refusing reuses.
      await this.#listen();
      this.#unlisten();
      return;
    }
    await this.#listen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const closed = [...this.#listeners].map(
      (l) =>
        new Promise<void>((resolve) => {
          l.once("close", () => resolve());
          if (l.listening) l.close();
        }),
    );
    this.#listener = null;
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#tlsSockets) s.destroy();
    for (const s of this.#sockets) s.destroy();
    await Promise.all(closed);
    this.#listeners.clear();
  }

  // ---- listening -------------------------------------------------------------------------

  #syncListening(): Promise<void> {
    this.#listenChain = this.#listenChain.then(async () => {
      if (this.#closed) return;
      if (this.#faults.refuse && this.#listener !== null) this.#unlisten();
      else if (!this.#faults.refuse && this.#listener === null) await this.#listen();
    });
    return this.#listenChain;
  }

  async #listen(): Promise<void> {
    const listener = net.createServer({ pauseOnConnect: true }, (sock) => this.#onAccept(sock));
    this.#listeners.add(listener);
    // Listeners closed by `refuse` leave the set once their last connection is gone.
    listener.once("close", () => {
      if (!this.#closed) this.#listeners.delete(listener);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once("error", reject);
        listener.listen({ host: this.config.host, port: this.#port }, () => {
          listener.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      this.#listeners.delete(listener);
      throw err;
    }
    const addr = listener.address();
    if (addr !== null && typeof addr === "object") this.#port = addr.port;
    this.#listener = listener;
  }

  #unlisten(): void {
    const l = this.#listener;
    this.#listener = null;
    // The listening fd is closed synchronously (libuv closes it in uv_close), so connects are
    // refused from here on; accepted connections stay open, as after a real listener restart.
    l?.close();
  }

  // ---- connections -----------------------------------------------------------------------

  /** A tracked timer (cleared by close()); none once closed. */
  #after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.#closed) return undefined;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #cancel(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  #onAccept(sock: net.Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    const key = `${sock.remoteAddress}|${sock.remotePort}`;
    this.#conns.set(key, { id: nextConnectionId++, requests: 0 });
    this.#sockets.add(sock);
    const st = this.#stats;
    st.connectionsAccepted++;
    st.connectionsOpen++;
    st.connectionsPeak = Math.max(st.connectionsPeak, st.connectionsOpen);
    // A reset by the peer while we hold the socket must not crash the process.
    sock.on("error", () => {});
    sock.once("close", () => {
      this.#sockets.delete(sock);
      this.#conns.delete(key);
      this.#stats.connectionsOpen = Math.max(0, this.#stats.connectionsOpen - 1);
    });
    const handOver = () => {
      if (sock.destroyed || this.#closed) return;
      // Held forever (until the peer gives up or close() destroys it).
      if (this.#faults.blackHole) return;
      this.#app.emit("connection", sock);
      sock.resume();
    };
    const afterAccept = () => {
      if (sock.destroyed || this.#closed || this.#faults.blackHole) return;
      const tlsDelay = this.isTls ? this.#faults.tlsDelayMs : 0;
      if (tlsDelay > 0) this.#after(tlsDelay, handOver);
      else handOver();
    };
    const acceptDelay = this.#faults.acceptDelayMs;
    if (acceptDelay > 0) this.#after(acceptDelay, afterAccept);
    else afterAccept();
  }

  #connOf(req: SimRequest): ConnInfo {
    const s = req.socket;
    const info = this.#conns.get(`${s.remoteAddress}|${s.remotePort}`);
    return info ?? { id: 0, requests: 0 };
  }

  #createProtocolServer(tlsMaterial: TlsMaterial): ProtocolServer {
    const handler = (req: SimRequest, res: http.ServerResponse | http2.Http2ServerResponse) =>
      this.#onRequest(req, res);
    const keepAlive = this.config.keepAliveTimeoutMs;
    let server: ProtocolServer;
    switch (this.config.protocol) {
      case "http1":
        server = http.createServer(handler);
        server.keepAliveTimeout = keepAlive;
        break;
      case "https":
        server = https.createServer({ ...tlsMaterial, ALPNProtocols: ["http/1.1"] }, handler);
        server.keepAliveTimeout = keepAlive;
        break;
      case "h2c":
        server = http2.createServer({}, handler);
        break;
      case "h2":
        server = http2.createSecureServer({ ...tlsMaterial, allowHTTP1: true }, handler);
        // HTTP/1.1 fallback connections on the h2 server idle out like the others.
        server.on("secureConnection", (s: tls.TLSSocket) => {
          if (s.alpnProtocol !== "h2") s.setTimeout(keepAlive, () => s.destroy());
        });
        break;
    }
    if (this.isTls) {
      server.on("secureConnection", (s: tls.TLSSocket) => {
        this.#stats.tlsHandshakes++;
        this.#tlsSockets.add(s);
        s.once("close", () => this.#tlsSockets.delete(s));
      });
      server.on("tlsClientError", (_err: Error, s: tls.TLSSocket) => {
        this.#stats.tlsErrors++;
        s.destroy();
      });
    }
    if (this.config.protocol === "h2c" || this.config.protocol === "h2") {
      server.on("session", (session: http2.ServerHttp2Session) => {
        this.#sessions.add(session);
        session.on("error", () => {});
        session.once("close", () => this.#sessions.delete(session));
        // Idle sessions end with GOAWAY, like an HTTP/1.1 keep-alive timeout.
        session.setTimeout(keepAlive, () => session.close());
      });
    }
    return server;
  }

  // ---- requests --------------------------------------------------------------------------

  #baseHeaders(req: SimRequest, conn: ConnInfo): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = {
      "x-sim-endpoint": this.name,
      "x-sim-connection-id": String(conn.id),
      "x-sim-request-count-on-connection": String(conn.requests),
      "x-sim-http-version": req.httpVersion,
    };
    if (this.config.zone !== undefined) h["x-sim-zone"] = this.config.zone;
    return h;
  }

  #onRequest(req: SimRequest, rawRes: http.ServerResponse | http2.Http2ServerResponse): void {
    // Both response classes implement SimResponse; TypeScript cannot call methods on the union.
    const res = rawRes as unknown as SimResponse;
    const conn = this.#connOf(req);
    conn.requests++;
    // Drain any request body so the connection stays reusable.
    req.resume();
    // Existing connections hang too: the request is never answered.
    if (this.#holdIfBlackHoled()) return;
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    res.once("close", () => {
      closed = true;
      this.#cancel(timer);
    });

    if (url.pathname === this.config.healthPath) {
      this.#stats.healthChecks++;
      const { status, delayMs } = this.#faults.health;
      const answer = () => {
        if (closed || this.#holdIfBlackHoled()) return;
        const body = Buffer.from(JSON.stringify({ status: status < 400 ? "ok" : "fail", endpoint: this.name }));
        res.writeHead(status, {
          ...this.#baseHeaders(req, conn),
          "content-type": "application/json",
          "content-length": body.length,
        });
        res.end(body);
      };
      if (delayMs > 0) timer = this.#after(delayMs, answer);
      else answer();
      return;
    }

    const f = this.#faults;
    const st = this.#stats;
    st.requests++;
    st.inFlight++;
    res.once("close", () => {
      st.inFlight = Math.max(0, st.inFlight - 1);
    });
    const q = url.searchParams;
    const status =
      overrideNumber(q, req, "status", "x-sim-status", 200, 599) ??
      (this.#random() < f.errorRate ? f.errorStatus : 200);
    const latencyMs =
      overrideNumber(q, req, "latencyMs", "x-sim-latency-ms", 0, 600_000) ?? sampleLatencyMs(f.latency, this.#random);
    const bytes = Math.floor(
      overrideNumber(q, req, "bytes", "x-sim-bytes", 0, MAX_OVERRIDE_BYTES) ?? this.config.bodyBytes,
    );
    const resetOverride = q.get("reset") ?? headerValue(req, "x-sim-reset");
    const reset =
      resetOverride !== undefined && resetOverride !== null ? resetOverride === "1" : this.#random() < f.resetRate;
    const slowRate = f.slowBodyBytesPerSec;

    const respond = () => {
      if (closed || this.#holdIfBlackHoled()) return;
      const body = bodyOf(bytes);
      st.statuses[status] = (st.statuses[status] ?? 0) + 1;
      res.writeHead(status, {
        ...this.#baseHeaders(req, conn),
        "x-sim-latency-ms": latencyMs.toFixed(3),
        "content-type": "application/octet-stream",
        "content-length": bytes,
      });
      if (reset) {
        st.resets++;
        // Half the body, then the connection (HTTP/1.1) or the stream (HTTP/2) dies.
        res.write(body.subarray(0, Math.floor(bytes / 2)), () => this.#abort(req, rawRes));
        return;
      }
      if (slowRate > 0 && bytes > 0) {
        this.#writeSlowly(
          res,
          body,
          slowRate,
          () => closed,
          (t) => {
            timer = t;
          },
        );
        return;
      }
      res.end(body);
    };
    if (latencyMs > 0) timer = this.#after(latencyMs, respond);
    else respond();
  }

  /** blackHole also swallows answers still pending when it is switched on (a partition, not a restart). */
  #holdIfBlackHoled(): boolean {
    if (!this.#faults.blackHole) return false;
    this.#stats.blackHoled++;
    return true;
  }

  #abort(req: SimRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
    if (res instanceof http2.Http2ServerResponse) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else req.socket.destroy();
  }

  /**
   * Writes `body` at `bytesPerSec` in ~20 chunks a second: headers leave at once, each chunk
   * after the time it takes at that rate, so the last byte arrives ~bytes/rate later.
   * Bounded by the body size.
   */
  #writeSlowly(
    res: SimResponse,
    body: Buffer,
    bytesPerSec: number,
    isClosed: () => boolean,
    onTimer: (t: NodeJS.Timeout | undefined) => void,
  ): void {
    const chunk = Math.max(1, Math.floor(bytesPerSec / 20));
    let offset = 0;
    const schedule = () => {
      const next = Math.min(chunk, body.length - offset);
      onTimer(this.#after((next / bytesPerSec) * 1000, step));
    };
    const step = () => {
      // A black hole that starts mid-body stalls the body where it is.
      if (isClosed() || this.#faults.blackHole) return;
      const end = Math.min(body.length, offset + chunk);
      const piece = body.subarray(offset, end);
      offset = end;
      if (offset >= body.length) {
        res.end(piece);
        return;
      }
      res.write(piece);
      schedule();
    };
    res.flushHeaders();
    schedule();
  }
}
