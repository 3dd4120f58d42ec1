/**
 * The HTTP health check run on one pooled connection (warm-up and active checks, DESIGN.md
 * section 2: the check proves the very connection requests will use). A connection whose
 * check hung or broke is retired: it is not trusted for requests.
 */
import type { Clock } from "../clock.js";
import type { Host } from "../host.js";
import type { PooledConnection } from "./connection.js";
import type { HealthResult, PoolSettings } from "./types.js";

export async function checkOnConnection(
  conn: PooledConnection,
  settings: PoolSettings,
  host: Host,
  clock: Clock,
): Promise<HealthResult> {
  const hc = settings.healthCheck;
  const started = clock.now();
  const ac = new AbortController();
  const timer = clock.setTimeout(() => ac.abort(), hc.timeoutMs);
  let result: HealthResult;
  try {
    const res = await conn.request({
      method: "GET",
      path: hc.path,
      headers: {
        host: hc.host ?? host.sni ?? settings.tls.sni ?? host.address,
        "user-agent": "meshtune-health",
      },
      signal: ac.signal,
    });
    await res.body.dump();
    const ok = hc.expectedStatuses.some(([lo, hi]) => res.statusCode >= lo && res.statusCode <= hi);
    result = {
      ok,
      status: res.statusCode,
      detail: ok ? `status ${res.statusCode}` : `unexpected status ${res.statusCode}`,
      latencyMs: clock.now() - started,
    };
  } catch (err) {
    const timedOut = ac.signal.aborted;
    result = {
      ok: false,
      detail: timedOut ? `timeout after ${hc.timeoutMs} ms` : `error: ${(err as Error).message}`,
      latencyMs: clock.now() - started,
    };
    // A connection whose check hung or broke is not trusted for requests.
    conn.retire();
  } finally {
    timer.cancel();
  }
  return result;
}
