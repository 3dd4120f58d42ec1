/**
 * Admin API (default 127.0.0.1:15000): /live, /ready, /clusters, /config, plus routes other
 * layers add (the proxy service adds /metrics in issue #6).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterRuntime } from "../cluster.js";
import type { Host } from "../host.js";
import type { EgressProxy } from "./proxy.js";

export interface AdminExtras {
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function scoreOf(rt: ClusterRuntime, h: Host) {
  const s = rt.scoreOf(h);
  return { value: round(s.score), terms: Object.fromEntries(Object.entries(s.terms).map(([k, v]) => [k, round(v)])) };
}

/**
 * The clock is monotonic (ms since an arbitrary origin); /clusters publishes instants as
 * ISO-8601 wall times, converted with the wall-minus-monotonic offset read now, never a
 * monotonic number that looks like a Unix time (issue #15).
 */
export type MonoToWall = (mono: number) => string;

const TIME_FIELDS = new Set(["ejectedAt", "ejectUntil", "lastUnejectedAt", "lastCheckedAt", "lastTransitionAt"]);

/** The snapshot with its monotonic instants as wall-time strings (a JSON view, not the typed snapshot). */
function withWallTimes(snap: object | undefined, toWall: MonoToWall): Record<string, unknown> | undefined {
  if (!snap) return undefined;
  const out: Record<string, unknown> = { ...snap };
  for (const [k, v] of Object.entries(out)) if (TIME_FIELDS.has(k) && typeof v === "number") out[k] = toWall(v);
  return out;
}

export function describeCluster(
  rt: ClusterRuntime,
  toWall: MonoToWall = monoToWall(performance.now.bind(performance)),
) {
  return {
    name: rt.name,
    policy: rt.lb.policy,
    discovery: rt.discovery.type,
    endpoints: rt.hosts.hosts.map((h) => {
      const pool = rt.pool(h);
      return {
        endpoint: h.key,
        address: h.address,
        port: h.port,
        zone: h.zone ?? null,
        weight: h.weight,
        configWeight: h.configWeight,
        overrideWeight: h.overrideWeight ?? null,
        available: h.available,
        flags: Object.fromEntries(h.flags),
        inFlight: h.inFlight,
        requestsTotal: h.requestsTotal,
        latencyMs: round(rt.latencyMs(h)),
        connectMs: round(rt.connectMs(h)),
        score: scoreOf(rt, h),
        predicted: rt.predicted(h) ?? null,
        warmFloor: rt.warmFloor(h),
        pool: pool
          ? {
              idle: pool.idle,
              active: pool.active,
              connecting: pool.connecting,
              pending: pool.pending,
              warmTarget: pool.warmTarget,
              maxConnections: pool.maxConnections,
              reused: pool.reusedCount,
              fresh: pool.newCount,
              draining: pool.draining,
            }
          : null,
        warmup: rt.warmupState(h) ?? null,
        outlier: withWallTimes(rt.outlier.snapshot(h), toWall),
        health: withWallTimes(rt.health.snapshot(h), toWall),
      };
    }),
  };
}

/** Converts instants of a monotonic clock to wall time, with the offset read once per call site. */
export function monoToWall(now: () => number): MonoToWall {
  const offset = Date.now() - now();
  return (mono) => new Date(offset + mono).toISOString();
}

export function describeAdmission(proxy: EgressProxy) {
  const a = proxy.admission;
  return a
    ? { lagMs: round(a.lagMs), overloaded: a.overloaded, shedInFlight: a.shedInFlight, shedLag: a.shedLag }
    : null;
}

export function createAdminHandler(proxy: EgressProxy, extras: AdminExtras = {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const json = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    const extra = extras.routes?.[path];
    if (extra) {
      Promise.resolve(extra(req, res)).catch((err: Error) => json(500, { error: err.message }));
      return;
    }
    switch (path) {
      case "/live":
        return json(200, { live: true });
      case "/ready":
        return json(proxy.ready ? 200 : 503, { ready: proxy.ready });
      case "/clusters":
        return json(200, {
          proxy: proxy.id,
          inFlight: proxy.inFlight,
          requests: proxy.requestsHandled,
          admission: describeAdmission(proxy),
          clusters: [...proxy.clusters.values()].map((rt) => describeCluster(rt, monoToWall(proxy.now))),
        });
      case "/config": {
        const a = proxy.applied;
        return json(200, {
          version: a?.version ?? null,
          source: a?.source ?? null,
          appliedAt: a?.appliedAt ?? null,
          controlVersion: proxy.controlVersion,
          config: a?.config ?? null,
        });
      }
      default:
        return json(404, {
          error: `unknown admin path ${path}`,
          paths: ["/live", "/ready", "/clusters", "/config", ...Object.keys(extras.routes ?? {})],
        });
    }
  };
}
