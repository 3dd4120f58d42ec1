/**
 * The actuator's admin API (node:http; loopback by default). Reads are open to whoever can
 * reach the socket; every mutating call needs `Authorization: Bearer <token>`, compared in
 * constant time (SHA-256 of both sides, then timingSafeEqual, so neither length nor prefix
 * leaks). The token is never logged. Writes go to the hashes the engine reads every
 * evaluation: pins, per-cluster settings and fleet-wide settings (contracts/operator.ts).
 *
 *   GET    /live                                   200
 *   GET    /metrics                                Prometheus text
 *   GET    /clusters                               status of every cluster (versions, convergence, ejected, decisions)
 *   GET    /clusters/:c                            one cluster's status
 *   GET    /clusters/:c/versions/:v                convergence of one version
 *   GET    /clusters/:c/pending                    decisions not folded yet
 *   GET    /clusters/:c/pins                       pins; the override is in the status
 *   PUT    /clusters/:c/pins/:endpoint             body: EndpointPin JSON (POST too)
 *   DELETE /clusters/:c/pins/:endpoint
 *   PUT    /clusters/:c/settings                   body: { dryRun?, killSwitch?, maxChangesPerMinute? }
 *   PUT    /settings                               body: { dryRun?, killSwitch? } (fleet-wide)
 */
import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { EndpointPinSchema, OPERATOR_SETTING_FIELDS } from "@meshtune/contracts";
import { z } from "zod";
import { pendingDecisions } from "./actuate.js";
import type { ActuatorContext } from "./context.js";
import { readConvergence } from "./converge.js";
import { clusterStatus } from "./status.js";

const SLOW_CLIENT_LIMITS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

const SettingsSchema = z
  .object({
    dryRun: z.boolean().optional(),
    killSwitch: z.boolean().optional(),
    maxChangesPerMinute: z.number().int().min(0).optional(),
  })
  .strict();

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

function tokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith("Bearer ")) return false;
  const a = createHash("sha256").update(header.slice(7)).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

type Reply = { status: number; body: unknown; type?: string };

class BodyTooLarge extends Error {
  constructor() {
    super("request body over 64 KiB");
  }
}

/**
 * Bad input is the client's error (4xx), never a 500 counted as a Redis error: a JSON syntax
 * error, a malformed percent-escape in the path (URIError from decodeURIComponent, found by
 * the fuzz test of issue #14), a body over the limit.
 */
function errorReply(ctx: ActuatorContext, err: Error): Reply {
  if (err instanceof SyntaxError || err instanceof URIError) return json(400, { error: err.message });
  if (err instanceof BodyTooLarge) return json(413, { error: err.message });
  ctx.metrics.redisErrors.inc({ op: "admin" });
  return json(500, { error: err.message });
}
const json = (status: number, body: unknown): Reply => ({ status, body });

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new BodyTooLarge();
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text.length === 0 ? {} : JSON.parse(text);
}

async function route(ctx: ActuatorContext, req: http.IncomingMessage, token: string | undefined): Promise<Reply> {
  const method = req.method ?? "GET";
  // Authorisation before anything is parsed: an unauthorised mutation learns nothing else.
  if (method !== "GET" && method !== "HEAD" && !tokenMatches(req.headers.authorization, token)) {
    return json(token ? 401 : 403, {
      error: token ? "bearer token required" : "mutations are disabled: no admin token configured",
    });
  }
  // The path only (no URL parsing: a request target like `//%` is not a valid URL but is a
  // path with an empty and a malformed segment, answered 400/404 below).
  const parts = (req.url ?? "/").split("?")[0]!.split("/").filter(Boolean).map(decodeURIComponent);
  const [root, cluster, sub, arg] = parts;
  if (method === "GET" && root === "live") return json(200, { live: true });
  if (method === "GET" && root === "metrics")
    return { status: 200, body: await ctx.metrics.registry.metrics(), type: ctx.metrics.registry.contentType };
  if (root === "settings" && !cluster && method === "PUT") {
    return writeSettings(ctx, ctx.keys.globalSettings(), await readBody(req));
  }
  if (root !== "clusters") return json(404, { error: "not found" });
  if (!cluster && method === "GET") {
    const names = (await ctx.redis.smembers(ctx.keys.clusters())).sort();
    return json(200, { clusters: await Promise.all(names.map((c) => clusterStatus(ctx, c))) });
  }
  if (!cluster) return json(405, { error: "method not allowed" });
  if (!sub && method === "GET") return json(200, await clusterStatus(ctx, cluster, 20));
  if (sub === "versions" && arg && method === "GET") {
    const view = await readConvergence(ctx, cluster, Number(arg));
    return view ? json(200, view) : json(404, { error: `no version ${arg} of ${cluster}` });
  }
  if (sub === "pending" && method === "GET") return json(200, { decisions: await pendingDecisions(ctx, cluster) });
  if (sub === "settings" && method === "PUT")
    return writeSettings(ctx, ctx.keys.settings(cluster), await readBody(req));
  if (sub === "pins") return pins(ctx, cluster, arg, method, req);
  return json(404, { error: "not found" });
}

async function pins(
  ctx: ActuatorContext,
  cluster: string,
  ep: string | undefined,
  method: string,
  req: http.IncomingMessage,
) {
  const key = ctx.keys.pins(cluster);
  if (!ep && method === "GET") {
    const all = await ctx.redis.hgetall(key);
    return json(200, Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v)])));
  }
  if (!ep) return json(405, { error: "method not allowed" });
  if (method === "DELETE") return json(200, { deleted: (await ctx.redis.hdel(key, ep)) === 1 });
  if (method !== "PUT" && method !== "POST") return json(405, { error: "method not allowed" });
  const pin = EndpointPinSchema.safeParse(await readBody(req));
  if (!pin.success) return json(400, { error: pin.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
  await ctx.redis.hset(key, ep, JSON.stringify(pin.data));
  await ctx.redis.sadd(ctx.keys.clusters(), cluster);
  ctx.logger.info({ cluster, endpoint: ep, pin: pin.data }, "pin set");
  return json(200, { cluster, endpoint: ep, pin: pin.data });
}

async function writeSettings(ctx: ActuatorContext, key: string, body: unknown): Promise<Reply> {
  const s = SettingsSchema.safeParse(body);
  if (!s.success) return json(400, { error: s.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
  const F = OPERATOR_SETTING_FIELDS;
  const fields: Record<string, string> = {};
  if (s.data.dryRun !== undefined) fields[F.dryRun] = String(s.data.dryRun);
  if (s.data.killSwitch !== undefined) fields[F.killSwitch] = String(s.data.killSwitch);
  if (s.data.maxChangesPerMinute !== undefined) fields[F.maxChangesPerMinute] = String(s.data.maxChangesPerMinute);
  if (Object.keys(fields).length > 0) await ctx.redis.hset(key, fields);
  ctx.logger.warn({ key, settings: fields }, "operator settings changed");
  return json(200, await ctx.redis.hgetall(key));
}

export async function startAdmin(
  ctx: ActuatorContext,
  opts: { host: string; port: number; token: string | undefined },
): Promise<AdminServer> {
  // Slow clients (slowloris) are cut off after 10 s of headers; Node's defaults (60 s, checked
  // every 30 s) let a trickling client hold a socket for up to 90 s (issue #14).
  const server = http.createServer(SLOW_CLIENT_LIMITS, (req, res) => {
    route(ctx, req, opts.token)
      .catch((err: Error): Reply => errorReply(ctx, err))
      .then((r) => {
        const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body, null, 2);
        res.writeHead(r.status, { "content-type": r.type ?? "application/json" }).end(text);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
