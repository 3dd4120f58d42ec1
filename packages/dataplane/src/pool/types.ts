/** The pool's public types (its settings, the events it emits, what acquire/health return) and limits. */
import type { HealthCheckConfig, PoolConfig, TlsConfig } from "@meshtune/contracts";
import type { ConnectFailureCause, ConnectGate, ConnectTarget } from "./connect.js";
import type { PooledConnection } from "./connection.js";
import type { PoolWaiter } from "./waiters.js";

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
  /**
   * Connections opened ahead of demand (scale-up, refill) carry one health-check request before
   * a user request gets them, when no request is waiting: a server that is slow on a new
   * connection's first read (cold worker, lazy accept) is then paid by the check, not by
   * traffic — cold start at warm latency (issue #15; the plain-HTTP cold start was 2.11× warm
   * in the 2026-12-02 full bench run while TLS, paid in the handshake, was 0.97×). The cluster
   * sets it from warmup.healthCheckOnConnection.
   */
  primeNewConnections?: boolean;
}

/** A request waiting for a connection; the forwarder's attempt object implements it (no closure per wait). */
export interface AcquireWaiter extends PoolWaiter {
  onAcquire(r: AcquireResult): void;
}
