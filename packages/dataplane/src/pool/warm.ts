/**
 * Warm-up and the active health check of one pool, both run on pooled connections
 * (DESIGN.md section 2: the check proves the very connections requests will use).
 */

import { PooledConnection } from "./connection.js";
import type { ConnectionSet } from "./connection-set.js";
import type { ConnectFailure } from "./opener.js";
import type { ConnectPurpose, HealthResult, PoolEvent } from "./types.js";

/** The parts of its pool warm-up and the health check work with (ConnectionPool's private view). */
export interface PoolInternals {
  readonly conns: ConnectionSet;
  readonly draining: boolean;
  readonly maxConnections: number;
  open(purpose: ConnectPurpose): Promise<PooledConnection | ConnectFailure>;
  /** Adds a new connection to the pool (or retires it when the pool is closing). */
  admit(conn: PooledConnection): void;
  release(conn: PooledConnection): void;
  /** Runs the health check on `conn` and reports it as a "health" event. */
  healthOn(conn: PooledConnection): Promise<HealthResult>;
  emit(ev: PoolEvent): void;
}

/**
 * Pre-connects `n` connections and, when asked, runs the health check on each new
 * connection; only connections that pass join the pool (seed step 4).
 */
export async function warmConnections(
  p: PoolInternals,
  n: number,
  healthCheck: boolean,
): Promise<{ ready: number; failed: number; failures: string[] }> {
  const failures: string[] = [];
  let ready = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      p.conns.beginOpen();
      try {
        const res = await p.open("warmup");
        if (!(res instanceof PooledConnection)) {
          failures.push(`connect ${res.cause}: ${res.message}`);
          p.emit({ type: "warmup", outcome: "connect_failed", detail: `${res.cause}: ${res.message}` });
          return;
        }
        if (healthCheck) {
          const hc = await p.healthOn(res);
          if (!hc.ok) {
            res.retire();
            failures.push(`health check: ${hc.detail}`);
            p.emit({ type: "warmup", outcome: "health_failed", detail: hc.detail });
            return;
          }
        }
        ready++;
        p.emit({ type: "warmup", outcome: "ready", detail: `connected in ${res.connectMs.toFixed(1)} ms` });
        p.admit(res);
      } finally {
        p.conns.endOpen();
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
export async function checkPoolHealth(p: PoolInternals): Promise<HealthResult> {
  let conn = p.draining ? undefined : p.conns.pickIdle();
  if (conn) {
    p.conns.take(conn);
    try {
      return await p.healthOn(conn);
    } finally {
      p.release(conn);
    }
  }
  p.conns.beginOpen();
  let res: PooledConnection | ConnectFailure;
  try {
    res = await p.open("health");
  } finally {
    p.conns.endOpen();
  }
  if (!(res instanceof PooledConnection)) {
    const r = { ok: false, detail: `connect ${res.cause}: ${res.message}`, latencyMs: 0 };
    p.emit({ type: "health", ...r });
    return r;
  }
  conn = res;
  const r = await p.healthOn(conn);
  if (r.ok && p.conns.total < p.maxConnections) p.admit(conn);
  else conn.retire();
  return r;
}

/**
 * One health-check request on a connection opened ahead of demand (PoolSettings
 * .primeNewConnections): resolves to the connection, or to undefined after retiring it when
 * the check failed.
 */
export async function primeConnection(p: PoolInternals, conn: PooledConnection): Promise<PooledConnection | undefined> {
  const r = await p.healthOn(conn);
  if (r.ok && !conn.closed) return conn;
  conn.retire();
  return undefined;
}
