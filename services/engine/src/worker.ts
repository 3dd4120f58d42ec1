/**
 * `startEngineWorker`: a thin BullMQ worker on the evaluation queue (adapters
 * createEvaluationWorker) around the pure engine. Stateless: what must survive a restart is in
 * Redis (store.ts), so any number of workers share the queue; the per-cluster lock keeps one
 * cluster to one evaluation at a time. Serves /metrics, /live and /ready when given an address.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Cluster,
  connectRedis,
  contextOf,
  createEvaluationWorker,
  defaultLogger,
  type EvaluationJob,
  type EvaluationWorker,
  errorMessage,
  inSpan,
  type Logger,
  type Redis,
  readClusterWindows,
  type Span,
  SpanKind,
} from "@meshtune/adapters";
import { type EngineConfigInput, resolveEngineConfig } from "@meshtune/engine";
import { type JobDeps, type JobOutcome, runEvaluationJob, type WindowSource } from "./job.js";
import { EngineMetrics } from "./metrics.js";
import { createEngineStore, type RedisLike } from "./store.js";

const SLOW_CLIENT_LIMITS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

export const ENGINE_DEFAULTS = {
  concurrency: 4,
  lockTtlMs: 10_000,
  lockWaitMs: 2_000,
  host: "127.0.0.1",
  port: 9465,
} as const;

export interface EngineWorkerOptions {
  /** `redis://host:port` or `redis+cluster://h1:p1,h2:p2` (the worker owns its clients), or a client. */
  redisUrl?: string;
  redis?: RedisLike;
  prefix?: string;
  concurrency?: number;
  /** Every cluster in dry-run, whatever its settings say. */
  dryRun?: boolean;
  config?: EngineConfigInput;
  /** Default: the collector's windows in Redis (readClusterWindows). */
  windows?: WindowSource;
  /** Where /metrics, /live and /ready listen; false for none. Default 127.0.0.1 on a free port. */
  metricsAddress?: { host: string; port: number } | false;
  lockTtlMs?: number;
  lockWaitMs?: number;
  seenTtlMs?: number;
  logger?: Logger;
  /** Register prom-client's process metrics (default true; off when several workers share a process). */
  processMetrics?: boolean;
  /** Called after every job (tests, benchmarks). */
  onJob?: (cluster: string, at: number, outcome: JobOutcome | { result: "failed"; error: string }, ms: number) => void;
}

export interface EngineWorker {
  readonly metrics: EngineMetrics;
  /** Where the metrics endpoint listens (empty when there is none). */
  readonly metricsUrls: string[];
  close(): Promise<void>;
}

async function serveMetrics(
  metrics: EngineMetrics,
  redis: RedisLike,
  where: { host: string; port: number },
): Promise<http.Server> {
  // Slow clients (slowloris) are cut off after 10 s of headers; Node's defaults (60 s, checked
  // every 30 s) let a trickling client hold a socket for up to 90 s (issue #14).
  const server = http.createServer(SLOW_CLIENT_LIMITS, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        (err) => res.writeHead(500).end(errorMessage(err)),
      );
    } else if (path === "/live") {
      res.writeHead(200).end("ok\n");
    } else if (path === "/ready") {
      redis.ping().then(
        () => res.writeHead(200).end("ready\n"),
        () => res.writeHead(503).end("redis unreachable\n"),
      );
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, () => resolve());
  });
  return server;
}

/** What a job's handler needs (one context object). */
interface HandlerContext {
  deps: JobDeps;
  metrics: EngineMetrics;
  logger: Logger;
  onJob: EngineWorkerOptions["onJob"];
}

/** Runs one job under its span, with the metrics, the log line and the onJob callback. */
async function handleJob(h: HandlerContext, job: EvaluationJob, span: Span): Promise<void> {
  const { deps, metrics, logger } = h;
  const at = Date.parse(job.at);
  const started = performance.now();
  metrics.lag.observe(Math.max(0, Date.now() - at) / 1000);
  try {
    const outcome = await runEvaluationJob(deps, job.cluster, at);
    span.setAttribute("meshtune.result", outcome.result);
    if (outcome.result === "evaluated") {
      span.setAttribute("meshtune.decisions", outcome.decisions.length);
      span.setAttribute("meshtune.decisions_added", outcome.added.length);
    }
    const ms = performance.now() - started;
    metrics.jobs.inc({ result: outcome.result });
    if (outcome.result === "evaluated") {
      metrics.duration.observe(ms / 1000);
      metrics.added(job.cluster, outcome.added);
      if (outcome.added.length > 0)
        logger.info(
          { cluster: job.cluster, at: job.at, added: outcome.added.length, ms: Math.round(ms) },
          "decisions written",
        );
    }
    h.onJob?.(job.cluster, at, outcome, ms);
  } catch (err) {
    metrics.jobs.inc({ result: "failed" });
    metrics.redisErrors.inc({ op: "evaluate" });
    h.onJob?.(job.cluster, at, { result: "failed", error: errorMessage(err) }, performance.now() - started);
    throw err;
  }
}

export async function startEngineWorker(o: EngineWorkerOptions): Promise<EngineWorker> {
  const logger = o.logger ?? defaultLogger("meshtune-engine");
  if (!o.redis && !o.redisUrl) throw new Error("startEngineWorker needs redisUrl or redis");
  const owned: RedisLike[] = [];
  const own = (name: string, forBullMQ: boolean): RedisLike => {
    const c = connectRedis(o.redisUrl ?? "", { name, forBullMQ });
    c.on("error", (err: Error) => logger.warn({ err: err.message, client: name }, "redis connection error"));
    owned.push(c);
    return c;
  };
  const redis = o.redis ?? own("meshtune-engine", false);
  // BullMQ wants its own connection with maxRetriesPerRequest null (adapters createRedis docs).
  const bull = o.redisUrl ? own("meshtune-engine-worker", true) : redis;
  const config = resolveEngineConfig(o.config);
  const metrics = new EngineMetrics({ processMetrics: o.processMetrics });
  const store = createEngineStore(redis, { prefix: o.prefix, seenTtlMs: o.seenTtlMs });
  const windows: WindowSource = o.windows ?? {
    read: (cluster, at) => readClusterWindows(redis as Redis, { cluster, at, prefix: o.prefix }),
  };
  const deps = {
    store,
    windows,
    config,
    dryRun: o.dryRun ?? false,
    lockTtlMs: o.lockTtlMs ?? ENGINE_DEFAULTS.lockTtlMs,
    lockWaitMs: o.lockWaitMs ?? ENGINE_DEFAULTS.lockWaitMs,
    onState: (cluster: string, s: Parameters<EngineMetrics["state"]>[1], costs: Record<string, number>) =>
      metrics.state(cluster, s, config, costs),
    onBadPins: (cluster: string, endpoints: string[]) =>
      logger.warn({ cluster, endpoints }, "pins that do not parse are ignored"),
  };
  const worker: EvaluationWorker = createEvaluationWorker({
    connection: bull as Redis,
    prefix: o.prefix,
    concurrency: o.concurrency ?? ENGINE_DEFAULTS.concurrency,
    logger,
    // One span per job: the child of the OTLP request that carried the fast signal (its
    // traceparent rides in the job), or a new trace for an interval job.
    handler: (job, meta) =>
      inSpan(
        "meshtune.engine.evaluate",
        {
          kind: SpanKind.CONSUMER,
          parent: contextOf(job.traceparent),
          attributes: {
            "meshtune.cluster": job.cluster,
            "meshtune.at": job.at,
            "messaging.message.id": meta.id,
            "meshtune.attempt": meta.attempt,
          },
        },
        (span) => handleJob({ deps, metrics, logger, onJob: o.onJob }, job, span),
      ),
  });
  await worker.ready();
  let server: http.Server | undefined;
  const where = o.metricsAddress === undefined ? { host: ENGINE_DEFAULTS.host, port: 0 } : o.metricsAddress;
  if (where) server = await serveMetrics(metrics, redis, where);
  const addr = server?.address() as AddressInfo | undefined;
  const host = addr ? (addr.family === "IPv6" ? `[${addr.address}]` : addr.address) : "";
  return {
    metrics,
    metricsUrls: addr ? [`http://${host}:${addr.port}/metrics`] : [],
    async close() {
      await worker.close();
      if (server) await new Promise<void>((r) => server?.close(() => r()));
      for (const c of owned) await (c as Redis | Cluster).quit().catch(() => c.disconnect());
    },
  };
}
