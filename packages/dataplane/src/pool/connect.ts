/**
 * Opens one upstream TCP (+TLS) connection and classifies failure. We connect ourselves and
 * hand the ready socket to undici (see connection.ts) so that the pool knows exactly when a
 * connection exists, how long it took, and why it failed — undici's own lazy connect hides
 * all three inside the first request (the gap Envoy #45319 / #21346 describe).
 */
import net from "node:net";
import tls from "node:tls";
import { type Clock, systemClock } from "../clock.js";

/**
 * A bound on concurrent TLS handshakes for one cluster: a saturated proxy that starts many
 * handshakes at once makes every one of them slow (and each a CPU burst). Plain TCP connects
 * are cheap and pass through. FIFO; a connect's timeout starts when it gets its slot.
 */
export class ConnectGate {
  readonly max: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(max: number) {
    this.max = Math.max(1, max);
  }
  get active(): number {
    return this.#active;
  }
  get queued(): number {
    return this.#queue.length;
  }
  /** Runs `start` now or when a slot frees; `start` gets the release function. */
  enter(start: (release: () => void) => void): void {
    if (this.#active < this.max) {
      this.#active++;
      start(this.#releaser());
    } else this.#queue.push(() => start(this.#releaser()));
  }
  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#active--;
    };
  }
}

/** One secure context per cluster: the CA bundle is parsed once, not on every handshake. */
export function clusterTlsContext(ca: string | Buffer | undefined): tls.SecureContext {
  return tls.createSecureContext(ca ? { ca } : {});
}

export type ConnectFailureCause = "refused" | "timeout" | "tls" | "reset" | "other";

export type ConnectResult =
  | { ok: true; socket: net.Socket; connectMs: number; protocol: "h1" | "h2"; tlsResumed: boolean }
  | { ok: false; cause: ConnectFailureCause; message: string; connectMs: number };

export interface ConnectTarget {
  address: string;
  port: number;
  tls?: {
    servername: string | undefined;
    ca: string | Buffer | undefined;
    rejectUnauthorized: boolean;
    alpn: readonly string[];
    /** Previous TLS session for resumption (RFC 5077 tickets / session ids). */
    session: Buffer | undefined;
    onSession?: (session: Buffer) => void;
  };
  timeoutMs: number;
  /** Time source for the connect time and timeout (default: the system clock). */
  clock?: Clock;
  /** Shared per-cluster TLS context (CA parsed once). */
  secureContext?: tls.SecureContext;
  /** Bound on concurrent TLS handshakes per cluster. */
  gate?: ConnectGate;
}

export function classifyError(err: NodeJS.ErrnoException, duringTls: boolean): ConnectFailureCause {
  switch (err.code) {
    case "ECONNREFUSED":
      return "refused";
    case "ETIMEDOUT":
      return "timeout";
    case "ECONNRESET":
    case "EPIPE":
      return duringTls ? "tls" : "reset";
  }
  if (
    duringTls ||
    err.code?.startsWith("ERR_SSL") ||
    err.code?.startsWith("ERR_TLS") ||
    /certificate|SSL/i.test(err.message)
  )
    return "tls";
  return "other";
}

export function openConnection(target: ConnectTarget): Promise<ConnectResult> {
  if (target.tls && target.gate) {
    const gate = target.gate;
    return new Promise((resolve) => gate.enter((release) => void connectNow(target).then(resolve).finally(release)));
  }
  return connectNow(target);
}

function connectNow(target: ConnectTarget): Promise<ConnectResult> {
  const clock = target.clock ?? systemClock;
  const started = clock.now();
  return new Promise((resolve) => {
    let settled = false;
    let tcpUp = false;
    let socket: net.Socket | undefined;
    const finish = (r: ConnectResult) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket?.removeListener("error", onError);
      if (!r.ok) socket?.destroy();
      resolve(r);
    };
    const onError = (err: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        cause: classifyError(err, target.tls !== undefined && tcpUp),
        message: err.message,
        connectMs: clock.now() - started,
      });
    const timer = clock.setTimeout(
      () =>
        finish({
          ok: false,
          cause: "timeout",
          message: `connect timeout after ${target.timeoutMs} ms${tcpUp ? " (TLS handshake)" : ""}`,
          connectMs: clock.now() - started,
        }),
      target.timeoutMs,
    );
    if (target.tls) {
      const t = target.tls;
      const ts = tls.connect({
        host: target.address,
        port: target.port,
        servername: t.servername && !net.isIP(t.servername) ? t.servername : undefined,
        ca: target.secureContext ? undefined : t.ca,
        rejectUnauthorized: t.rejectUnauthorized,
        secureContext: target.secureContext,
        ALPNProtocols: [...t.alpn],
        session: t.session,
      });
      socket = ts;
      ts.setNoDelay(true);
      ts.on("error", onError);
      ts.once("connect", () => {
        tcpUp = true;
      });
      ts.on("session", (s: Buffer) => t.onSession?.(s));
      ts.once("secureConnect", () =>
        finish({
          ok: true,
          socket: ts,
          connectMs: clock.now() - started,
          protocol: ts.alpnProtocol === "h2" ? "h2" : "h1",
          tlsResumed: ts.isSessionReused(),
        }),
      );
    } else {
      const s = net.connect({ host: target.address, port: target.port });
      socket = s;
      s.setNoDelay(true);
      s.on("error", onError);
      s.once("connect", () => {
        tcpUp = true;
        finish({ ok: true, socket: s, connectMs: clock.now() - started, protocol: "h1", tlsResumed: false });
      });
    }
  });
}
