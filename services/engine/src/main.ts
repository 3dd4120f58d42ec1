/**
 * `meshtune engine`: flags and environment -> startEngineWorker; SIGTERM/SIGINT let the jobs in
 * flight finish (BullMQ Worker.close) and exit 0. The lead wires it into the CLI.
 */
import { parseArgs } from "node:util";
import { redactUrl } from "@meshtune/adapters";
import { withTracing } from "@meshtune/adapters/tracing-sdk";
import { DEFAULT_PREFIX, QUEUE_NAMES } from "@meshtune/contracts";
import pino from "pino";
import { ENGINE_DEFAULTS, type EngineWorker, startEngineWorker } from "./worker.js";

export const ENGINE_ENV = {
  address: "MESHTUNE_ENGINE_ADDRESS",
  redisUrl: "REDIS_URL",
  prefix: "MESHTUNE_REDIS_PREFIX",
  concurrency: "MESHTUNE_ENGINE_CONCURRENCY",
  dryRun: "MESHTUNE_DRY_RUN",
  logLevel: "MESHTUNE_LOG_LEVEL",
} as const;
const E = ENGINE_ENV;
const D = ENGINE_DEFAULTS;

export const ENGINE_HELP = `Usage: meshtune engine [options]

Runs an engine worker: takes evaluation jobs from the BullMQ queue "${QUEUE_NAMES.evaluate}" (the
collector enqueues them), reads the cluster's telemetry windows, engine state and operator
settings from Redis, runs the rules (fleet-wide ejection, pressure-weighted weights, predictive
pool scale-up, connect-timeout and pool-limit tuning) and the guardrails (kill switch, pins,
dwell, max-ejection-percent and panic threshold, changes per minute, dry-run), and writes the
decisions to the cluster's decision stream for the actuator, with the new state, in one atomic
step. Any number of workers can share the queue: a per-cluster lock keeps one evaluation of a
cluster at a time, and a retried job writes no decision twice. Serves /metrics (Prometheus),
/live and /ready (200 while Redis answers).

Options (flags win over environment variables):
      --address HOST:PORT   Metrics/health listen address (env ${E.address}; default ${D.host}:${D.port})
      --redis-url URL       redis://host:port, or redis+cluster://h1:p1,h2:p2 for a Redis Cluster
                            (env ${E.redisUrl}; default redis://127.0.0.1:6379)
      --prefix P            Redis key prefix (env ${E.prefix}; default ${DEFAULT_PREFIX})
      --concurrency N       Jobs evaluated at once by this worker (env ${E.concurrency}; default ${D.concurrency})
      --dry-run             Every cluster in dry-run: decisions are made and published with
                            dryRun true, never applied (env ${E.dryRun}=true). Per-cluster and
                            fleet-wide dry-run and kill switches are operator settings in Redis
                            (the actuator's admin API writes them).
      --log-level LEVEL     trace|debug|info|warn|error (env ${E.logLevel}; default info)
  -h, --help                Show this help

Explain a decision: meshtune explain <decision-id>.
Signals: SIGTERM/SIGINT finish the jobs in flight and exit 0.
Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, the service exports its own spans (one trace per
decision, docs/decisions/0018-tuner-tracing.md) over OTLP/HTTP there.`;

const OPTIONS = {
  address: { type: "string" },
  "redis-url": { type: "string" },
  prefix: { type: "string" },
  concurrency: { type: "string" },
  "dry-run": { type: "boolean" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function address(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(raw);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--address must be HOST:PORT, got '${raw}'`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** Traced when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/decisions/0018-tuner-tracing.md). */
export function runEngine(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return withTracing("meshtune-engine", env, () => runEngineUntraced(argv, env));
}

async function runEngineUntraced(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>["values"];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true }).values;
  } catch (err) {
    console.error(`meshtune engine: ${(err as Error).message}\n\n${ENGINE_HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(ENGINE_HELP);
    return 0;
  }
  const s = (flag: "address" | "redis-url" | "prefix" | "concurrency" | "log-level", envName: string) =>
    values[flag] ?? env[envName];
  const logger = pino({ name: "meshtune-engine", level: s("log-level", E.logLevel) ?? "info" });
  let opts: Parameters<typeof startEngineWorker>[0];
  try {
    const concurrency = Number(s("concurrency", E.concurrency) ?? D.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`--concurrency must be an integer ≥ 1, got '${s("concurrency", E.concurrency)}'`);
    opts = {
      redisUrl: s("redis-url", E.redisUrl) ?? "redis://127.0.0.1:6379",
      prefix: s("prefix", E.prefix) ?? DEFAULT_PREFIX,
      concurrency,
      dryRun: values["dry-run"] ?? /^(true|1|yes|on)$/i.test(env[E.dryRun] ?? ""),
      metricsAddress: address(s("address", E.address) ?? `${D.host}:${D.port}`),
      logger,
    };
  } catch (err) {
    console.error(`meshtune engine: ${(err as Error).message}`);
    return 2;
  }
  let worker: EngineWorker;
  try {
    worker = await startEngineWorker(opts);
  } catch (err) {
    logger.error({ err: (err as Error).message }, "engine failed to start");
    return 1;
  }
  logger.info(
    {
      redis: redactUrl(String(opts.redisUrl)),
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      dryRun: opts.dryRun,
      metrics: worker.metricsUrls,
    },
    "engine worker started",
  );
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, "finishing the jobs in flight");
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      worker.close().then(
        () => resolve(0),
        (err) => {
          logger.error({ err: (err as Error).message }, "close failed");
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
