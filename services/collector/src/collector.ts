/**
 * startCollector: the collector as a library (tests, the one-process tuner, the demo). Wires
 * Redis, the window store, the evaluation queue, the OTLP/HTTP server and the interval ticker;
 * close() stops accepting, finishes the requests in flight, enqueues the last interval and
 * disconnects what it owns.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  connectRedis,
  createEvaluationQueue,
  createWindowStore,
  defaultLogger,
  type EvaluationQueue,
  type Logger,
  type Redis,
  type RedisLike,
} from "@meshtune/adapters";
import { createHandler } from "./http/server.js";
import { Ingest } from "./ingest.js";
import { CollectorMetrics } from "./metrics.js";
import { createTriggers } from "./triggers.js";

export const COLLECTOR_DEFAULTS = {
  host: "127.0.0.1",
  /** The OTLP/HTTP default port, where the proxy exports by default. */
  port: 4318,
  horizonSec: 120,
  evaluationIntervalMs: 1_000,
  /** The OpenTelemetry Collector's OTLP receiver default body limit is 20 MiB; proxies send far less. */
  maxBodyBytes: 8 * 1024 * 1024,
  maxDecompressedBytes: 32 * 1024 * 1024,
  maxConcurrent: 64,
  /** Decoded protobuf takes several times its wire size: 64 MiB of bodies is a few hundred MiB of heap. */
  maxInFlightBytes: 64 * 1024 * 1024,
  signalMaxLen: 10_000,
  retryAfterSec: 1,
  /** On close, requests still running after this are cut (an exporter retries them elsewhere). */
  drainTimeoutMs: 10_000,
} as const;

export interface CollectorOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** A URL (`redis://` or `redis+cluster://h:p,h:p`; the collector owns the client) or a client. */
  redis: string | RedisLike;
  prefix?: string;
  horizonSec?: number;
  evaluationIntervalMs?: number;
  maxBodyBytes?: number;
  maxDecompressedBytes?: number;
  maxConcurrent?: number;
  maxInFlightBytes?: number;
  signalMaxLen?: number;
  /** false: no evaluation jobs (e.g. a benchmark); default: the BullMQ queue on the same Redis. */
  evaluationQueue?: EvaluationQueue | false;
  logger?: Logger;
  /** Unix ms clock (tests). */
  now?: () => number;
  /** Register prom-client's process metrics (default true; off when several collectors share a process). */
  processMetrics?: boolean;
}

export interface RunningCollector {
  /** Where the OTLP/HTTP receiver listens, e.g. http://127.0.0.1:4318 */
  readonly url: string;
  readonly address: AddressInfo;
  readonly metrics: CollectorMetrics;
  close(): Promise<void>;
}

export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  const logger = o.logger ?? defaultLogger("meshtune-collector");
  const now = o.now ?? Date.now;
  const horizonSec = o.horizonSec ?? COLLECTOR_DEFAULTS.horizonSec;
  const intervalMs = o.evaluationIntervalMs ?? COLLECTOR_DEFAULTS.evaluationIntervalMs;
  const ownsRedis = typeof o.redis === "string";
  const redis: RedisLike =
    typeof o.redis === "string" ? connectRedis(o.redis, { name: "meshtune-collector" }) : o.redis;
  if (ownsRedis) redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis connection error"));
  let queue: EvaluationQueue | undefined;
  let ownsQueue = false;
  if (o.evaluationQueue !== false) {
    // BullMQ takes a client; an ioredis Cluster serves it too (its keys share one hash tag).
    queue = o.evaluationQueue ?? createEvaluationQueue({ connection: redis as Redis, prefix: o.prefix });
    ownsQueue = o.evaluationQueue === undefined;
  }
  const metrics = new CollectorMetrics({ processMetrics: o.processMetrics });
  const triggers = createTriggers({ queue, intervalMs, metrics, logger, now });
  const ingest = new Ingest({
    redis,
    store: createWindowStore(redis, { prefix: o.prefix, horizonSec }),
    prefix: o.prefix,
    metrics,
    triggers,
    logger,
    now,
    horizonSec,
    signalMaxLen: o.signalMaxLen ?? COLLECTOR_DEFAULTS.signalMaxLen,
  });
  const ready = async () => {
    try {
      return (
        (await Promise.race([redis.ping(), new Promise((r) => setTimeout(() => r("timeout"), 1_000).unref())])) ===
        "PONG"
      );
    } catch {
      return false;
    }
  };
  const handler = createHandler({
    limits: {
      maxBytes: o.maxBodyBytes ?? COLLECTOR_DEFAULTS.maxBodyBytes,
      maxDecompressedBytes: o.maxDecompressedBytes ?? COLLECTOR_DEFAULTS.maxDecompressedBytes,
    },
    maxConcurrent: o.maxConcurrent ?? COLLECTOR_DEFAULTS.maxConcurrent,
    maxInFlightBytes: o.maxInFlightBytes ?? COLLECTOR_DEFAULTS.maxInFlightBytes,
    metrics,
    logger,
    ingest: (signal, body, encoding) =>
      signal === "metrics" ? ingest.metrics(body, encoding) : ingest.traces(body, encoding),
    ready,
    retryAfterSec: COLLECTOR_DEFAULTS.retryAfterSec,
  });
  // Slow clients (slowloris) are cut off after 10 s of headers; Node's defaults (60 s, checked
  // every 30 s) let a trickling client hold a socket for up to 90 s (issue #14).
  const server = http.createServer(
    { keepAliveTimeout: 30_000, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    (req, res) => void handler(req, res),
  );
  // A request the parser refuses gets a status saying why (431 headers too large, 408 too slow,
  // 400 malformed) before the socket closes; a bare close left clients guessing (issue #14).
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    if (socket.writable && err.code !== "ECONNRESET")
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  // Interval evaluations, aligned to interval boundaries so every replica picks the same `at`.
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(
      () => {
        ticking = triggers.tick(now()).catch((err) => logger.warn({ err }, "evaluation tick failed"));
        metrics.series.set(ingest.seriesTracked(now()));
        schedule();
      },
      intervalMs - (now() % intervalMs) + 1,
    );
    timer.unref();
  };
  schedule();

  const host = o.host ?? COLLECTOR_DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? COLLECTOR_DEFAULTS.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
  logger.info({ address: `${hostPart}:${address.port}` }, "collector listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${address.port}`,
    address,
    metrics,
    close() {
      closing ??= (async () => {
        clearTimeout(timer);
        // Stop accepting; requests in flight finish (server.close waits for them). Keep-alive
        // sockets that turn idle after their last response are closed as they do (a sweep), and
        // whatever is still open after the drain timeout is cut.
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), COLLECTOR_DEFAULTS.drainTimeoutMs);
        await closed;
        clearInterval(sweep);
        clearTimeout(cut);
        await ticking;
        await triggers.tick(now() + intervalMs); // the interval in progress has data too: flush it
        await triggers.drain();
        if (ownsQueue) await queue?.close();
        if (ownsRedis) await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
