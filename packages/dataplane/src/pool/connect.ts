/**
 * Opens one upstream TCP (+TLS) connection and classifies failure. We connect ourselves and
 * hand the ready socket to undici (see connection.ts) so that the pool knows exactly when a
 * connection exists, how long it took, and why it failed — undici's own lazy connect hides
 * all three inside the first request (the gap Envoy #45319 / #21346 describe).
 */
import net from "node:net";
import tls from "node:tls";

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
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let tcpUp = false;
    let socket: net.Socket;
    const finish = (r: ConnectResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener("error", onError);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const onError = (err: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        cause: classifyError(err, target.tls !== undefined && tcpUp),
        message: err.message,
        connectMs: performance.now() - started,
      });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          cause: "timeout",
          message: `connect timeout after ${target.timeoutMs} ms${tcpUp ? " (TLS handshake)" : ""}`,
          connectMs: performance.now() - started,
        }),
      target.timeoutMs,
    );
    if (target.tls) {
      const t = target.tls;
      const ts = tls.connect({
        host: target.address,
        port: target.port,
        servername: t.servername && !net.isIP(t.servername) ? t.servername : undefined,
        ca: t.ca,
        rejectUnauthorized: t.rejectUnauthorized,
        ALPNProtocols: [...t.alpn],
        session: t.session,
      });
      socket = ts;
      ts.once("connect", () => {
        tcpUp = true;
      });
      ts.on("session", (s: Buffer) => t.onSession?.(s));
      ts.once("secureConnect", () =>
        finish({
          ok: true,
          socket: ts,
          connectMs: performance.now() - started,
          protocol: ts.alpnProtocol === "h2" ? "h2" : "h1",
          tlsResumed: ts.isSessionReused(),
        }),
      );
    } else {
      socket = net.connect({ host: target.address, port: target.port });
      socket.once("connect", () => {
        tcpUp = true;
        finish({ ok: true, socket, connectMs: performance.now() - started, protocol: "h1", tlsResumed: false });
      });
    }
    socket.setNoDelay(true);
    socket.on("error", onError);
  });
}
