/**
 * Warm the request path before /ready (issue #15). Pool warm-up makes the connections ready,
 * but the JavaScript that serves a request (listener, forwarder, balancer, the upstream client,
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
import net from "node:net";
import type { ProxyConfig } from "@meshtune/contracts";
import type { Clock } from "../clock.js";
import { H1Connection } from "../pool/h1-client.js";
import { probeH1 } from "../pool/h1-probe.js";

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
 * done or when `deadline` (ms on the clock) passes. Never throws. The requests go out on
 * CONCURRENCY keep-alive connections with the pooled connections' own HTTP/1.1 codec.
 */
export async function warmRequestPath(
  port: number,
  targets: readonly WarmPathTarget[],
  perCluster: number,
  token: string,
  clock: Clock,
  deadline: number,
): Promise<WarmPathResult> {
  const started = clock.now();
  if (perCluster <= 0 || targets.length === 0) return { sent: 0, failed: 0, ms: 0 };
  let sent = 0;
  let failed = 0;
  let next = 0;
  const total = perCluster * targets.length;
  const sockets = new Set<net.Socket>();
  const worker = async () => {
    let conn: H1Connection | undefined;
    while (next < total && clock.now() < deadline) {
      const t = targets[next++ % targets.length]!;
      try {
        conn ??= await connect(port, clock, sockets, () => {
          conn = undefined;
        });
        await probeH1(conn, {
          method: "GET",
          path: t.path,
          headers: { host: t.host, [WARM_HEADER]: token },
          timeoutMs: Math.max(1, deadline - clock.now()),
        });
        sent++;
      } catch {
        failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    for (const s of sockets) s.destroy();
  }
  return { sent, failed, ms: clock.now() - started };
}

async function connect(
  port: number,
  clock: Clock,
  sockets: Set<net.Socket>,
  onUnusable: () => void,
): Promise<H1Connection> {
  const socket = net.connect(port, "127.0.0.1");
  sockets.add(socket);
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("close", () => reject(new Error("warm-path connection closed")));
  });
  return new H1Connection({ socket, clock, defaultHost: `127.0.0.1:${port}`, onUnusable });
}
