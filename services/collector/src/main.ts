/**
 * `meshtune collector`: flags and environment -> startCollector; SIGTERM/SIGINT finish the
 * requests in flight, enqueue the last interval and exit 0. The lead wires it into the CLI.
 */
import { parseArgs } from "node:util";
import { redactUrl } from "@meshtune/adapters";
import { withTracing } from "@meshtune/adapters/tracing-sdk";
import { DEFAULT_PREFIX } from "@meshtune/contracts";
import pino from "pino";
import { COLLECTOR_DEFAULTS, startCollector } from "./collector.js";

const D = COLLECTOR_DEFAULTS;

export const COLLECTOR_ENV = {
  address: "MESHTUNE_COLLECTOR_ADDRESS",
  redisUrl: "REDIS_URL",
  prefix: "MESHTUNE_REDIS_PREFIX",
  horizonSec: "MESHTUNE_COLLECTOR_HORIZON_SEC",
  evaluationIntervalMs: "MESHTUNE_EVALUATION_INTERVAL_MS",
  maxBodyBytes: "MESHTUNE_COLLECTOR_MAX_BODY_BYTES",
  maxConcurrent: "MESHTUNE_COLLECTOR_MAX_CONCURRENT",
  maxInFlightBytes: "MESHTUNE_COLLECTOR_MAX_INFLIGHT_BYTES",
  logLevel: "MESHTUNE_LOG_LEVEL",
} as const;
const E = COLLECTOR_ENV;

export const COLLECTOR_HELP = `Usage: meshtune collector [options]

Receives the proxies' OpenTelemetry export over OTLP/HTTP (POST /v1/metrics and /v1/traces,
protobuf or JSON, optionally gzip) and turns it into per-endpoint windows in Redis: cumulative
counters and histograms become deltas per proxy instance (state in Redis, so any number of
replicas can run behind any load balancer), stored in 1-second buckets kept for the horizon.
Fast failure signals (warm-up and health-check failures, ejections, config NACKs) are stored as
events and enqueue an immediate evaluation; every cluster with fresh data is enqueued for
evaluation once per interval (BullMQ queue "meshtune-evaluate"). Also serves /live, /ready
(200 only while Redis answers) and /metrics (Prometheus).

Options (flags win over environment variables):
      --address HOST:PORT     Listen address (env ${E.address}; default ${D.host}:${D.port})
      --redis-url URL         redis://host:port, or redis+cluster://h1:p1,h2:p2 for a Redis Cluster
                              (env ${E.redisUrl}; default redis://127.0.0.1:6379)
      --prefix P              Redis key prefix (env ${E.prefix}; default ${DEFAULT_PREFIX})
      --horizon-sec N         How long 1-second buckets are kept (env ${E.horizonSec}; default ${D.horizonSec}; at least 60)
      --evaluation-interval-ms N
                              Interval of the per-cluster evaluation jobs (env ${E.evaluationIntervalMs}; default ${D.evaluationIntervalMs})
      --max-body-bytes N      Largest request body on the wire, 413 above (env ${E.maxBodyBytes}; default ${D.maxBodyBytes});
                              a gzip body may inflate to 4x this
      --max-concurrent N      Export requests handled at once, 429 + Retry-After above (env ${E.maxConcurrent}; default ${D.maxConcurrent})
      --max-inflight-bytes N  Decompressed body bytes handled at once, 429 + Retry-After above
                              (env ${E.maxInFlightBytes}; default ${D.maxInFlightBytes})
      --log-level LEVEL       trace|debug|info|warn|error (env ${E.logLevel}; default info)
  -h, --help                  Show this help

Signals: SIGTERM/SIGINT stop accepting, finish the requests in flight (cut after
${D.drainTimeoutMs / 1000} s), enqueue the last interval's evaluations and exit 0.
Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, the service exports its own spans (one trace per
decision, docs/decisions/0018-tuner-tracing.md) over OTLP/HTTP there.`;

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${raw}'`);
  return n;
}

function address(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(raw);
  if (!m) throw new Error(`--address must be HOST:PORT, got '${raw}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: int("port", m[2], 0, 0) };
}

/** Traced when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/decisions/0018-tuner-tracing.md). */
export function runCollector(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return withTracing("meshtune-collector", env, () => runCollectorUntraced(argv, env));
}

async function runCollectorUntraced(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        address: { type: "string" },
        "redis-url": { type: "string" },
        prefix: { type: "string" },
        "horizon-sec": { type: "string" },
        "evaluation-interval-ms": { type: "string" },
        "max-body-bytes": { type: "string" },
        "max-concurrent": { type: "string" },
        "max-inflight-bytes": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`meshtune collector: ${(err as Error).message}\n\n${COLLECTOR_HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(COLLECTOR_HELP);
    return 0;
  }
  const s = (flag: string, envName: string) => (values[flag] as string | undefined) ?? env[envName];
  let opts: Parameters<typeof startCollector>[0];
  const logger = pino({ name: "meshtune-collector", level: s("log-level", E.logLevel) ?? "info" });
  try {
    const maxBodyBytes = int("--max-body-bytes", s("max-body-bytes", E.maxBodyBytes), D.maxBodyBytes, 1_024);
    opts = {
      ...address(s("address", E.address) ?? `${D.host}:${D.port}`),
      redis: s("redis-url", E.redisUrl) ?? "redis://127.0.0.1:6379",
      prefix: s("prefix", E.prefix) ?? DEFAULT_PREFIX,
      horizonSec: int("--horizon-sec", s("horizon-sec", E.horizonSec), D.horizonSec, 60),
      evaluationIntervalMs: int(
        "--evaluation-interval-ms",
        s("evaluation-interval-ms", E.evaluationIntervalMs),
        D.evaluationIntervalMs,
        100,
      ),
      maxBodyBytes,
      maxDecompressedBytes: maxBodyBytes * 4,
      maxConcurrent: int("--max-concurrent", s("max-concurrent", E.maxConcurrent), D.maxConcurrent, 1),
      maxInFlightBytes: int(
        "--max-inflight-bytes",
        s("max-inflight-bytes", E.maxInFlightBytes),
        D.maxInFlightBytes,
        1_024 * 1_024,
      ),
      logger,
    };
  } catch (err) {
    console.error(`meshtune collector: ${(err as Error).message}`);
    return 2;
  }
  let collector: Awaited<ReturnType<typeof startCollector>>;
  try {
    collector = await startCollector(opts);
  } catch (err) {
    logger.error({ err: (err as Error).message }, "collector failed to start");
    return 1;
  }
  logger.info({ url: collector.url, redis: redactUrl(String(opts.redis)), prefix: opts.prefix }, "collector started");
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, "draining");
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      collector.close().then(
        () => resolve(0),
        (err) => {
          logger.error({ err: (err as Error).message }, "drain failed");
          resolve(1);
        },
      );
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
}
