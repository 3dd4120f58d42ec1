/**
 * Opens one connection for a pool: TCP (+TLS, resuming the endpoint's last TLS session when
 * allowed), reports connect_ok / connect_failed with the purpose, and wraps the ready socket
 * in a PooledConnection. The pool decides what to do with the result.
 */
import type { Clock } from "../clock.js";
import type { Host } from "../host.js";
import { type ConnectFailureCause, openConnection } from "./connect.js";
import { PooledConnection } from "./connection.js";
import type { ConnectPurpose, PoolEvent, PoolSettings } from "./types.js";

export type ConnectFailure = { cause: ConnectFailureCause; message: string };

export class ConnectionOpener {
  readonly #host: Host;
  readonly #settings: () => PoolSettings;
  readonly #clock: Clock;
  readonly #onEvent: (ev: PoolEvent) => void;
  readonly #onClose: (c: PooledConnection) => void;
  #tlsSession: Buffer | undefined;

  constructor(
    host: Host,
    settings: () => PoolSettings,
    clock: Clock,
    onEvent: (ev: PoolEvent) => void,
    onClose: (c: PooledConnection) => void,
  ) {
    this.#host = host;
    this.#settings = settings;
    this.#clock = clock;
    this.#onEvent = onEvent;
    this.#onClose = onClose;
  }

  #origin(): string {
    const tlsOn = this.#settings().tls.enabled;
    const h = this.#host.address.includes(":") ? `[${this.#host.address}]` : this.#host.address;
    return `${tlsOn ? "https" : "http"}://${h}:${this.#host.port}`;
  }

  /** Opens one connection; resolves to it (not yet in the pool) or to the failure. */
  async open(purpose: ConnectPurpose): Promise<PooledConnection | ConnectFailure> {
    const s = this.#settings();
    const servername = s.tls.enabled ? (this.#host.sni ?? s.tls.sni ?? this.#host.address) : undefined;
    const r = await openConnection({
      address: this.#host.address,
      port: this.#host.port,
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
      clock: this.#clock,
      maxStreams: s.maxStreams ?? 100,
      servername,
      onClose: this.#onClose,
    });
  }
}
