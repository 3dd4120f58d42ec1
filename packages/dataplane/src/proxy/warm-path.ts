/**
 * Warm the request path before /ready (issue #15). Pool warm-up makes the connections ready,
 * but the JavaScript that serves a request (listener, forwarder, balancer, undici's client,
 * the relay) is still compiled lazily: the bench's cold-start runs showed the slow requests
 * of the first 1,000 were the first ~25, all in the first ~100 ms after /ready, with no pool
 * wait — the proxy's own code was cold (bench/README.md, coldstart, 2026-11-26).
 *
 * So before /ready the proxy sends WARM_REQUESTS requests per cluster through its own
 * listener, on loopback, to the cluster's health-check path (routed like any request: the
 * host and path prefix of a route to that cluster), CONCURRENCY at a time, within the
 * warm-up deadline. They carry a per-process token header so the forwarder keeps them out of
 * telemetry hooks; they are real upstream requests otherwise (and spread by the balancer).
 */
import type { ProxyConfig } from "@meshtune/contracts";
import { Pool } from "../undici-lean.js";

export const WARM_HEADER = "x-meshtune-warmup";
const CONCURRENCY = 4;

export interface WarmPathTarget {
  cluster: string;
  host: string;
  path: string;
}

/** One target per cluster a route (or the single-cluster fallback) reaches. */
export function warmTargets(cfg: ProxyConfig): WarmPathTarget[] {
  const out: WarmPathTarget[] = [];
  for (const c of cfg.clusters) {
    const route = cfg.routes.find((r) => r.cluster === c.name);
    if (!route && !(cfg.routes.length === 0 && cfg.clusters.length === 1)) continue;
    const prefix = route?.match.pathPrefix ?? "/";
    const host = route && route.match.host !== "*" ? route.match.host : "meshtune-warmup.invalid";
    const hc = c.healthCheck.path;
    const path = prefix === "/" ? hc : `${prefix.replace(/\/$/, "")}${hc}`;
    out.push({ cluster: c.name, host, path });
  }
  return out;
}

export type WarmPathResult = { sent: number; failed: number; ms: number };

/**
 * Sends `perCluster` requests to every target through the listener at `port`; resolves when
 * done or when `deadline` (ms on `now()`) passes. Never throws.
 */
export async function warmRequestPath(
  port: number,
  targets: readonly WarmPathTarget[],
  perCluster: number,
  token: string,
  now: () => number,
  deadline: number,
): Promise<WarmPathResult> {
  const started = now();
  if (perCluster <= 0 || targets.length === 0) return { sent: 0, failed: 0, ms: 0 };
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
  let sent = 0;
  let failed = 0;
  let next = 0;
  const total = perCluster * targets.length;
  const worker = async () => {
    while (next < total && now() < deadline) {
      const t = targets[next++ % targets.length]!;
      try {
        const r = await pool.request({
          method: "GET",
          path: t.path,
          headers: { host: t.host, [WARM_HEADER]: token },
          headersTimeout: Math.max(1, deadline - now()),
        });
        await r.body.dump();
        sent++;
      } catch {
        failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await pool.close().catch(() => {});
  }
  return { sent, failed, ms: now() - started };
}
