/**
 * `meshtune tuner`: collector, engine worker and actuator in one process — the embedded
 * default for a single machine (DESIGN.md section 4). Each part is the same code that runs
 * alone as `meshtune collector|engine|actuator` for scale-out; they meet only through Redis
 * (windows, BullMQ jobs, decision streams, snapshots) and Kafka, never in memory.
 */
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { startActuator } from "@meshtune/actuator";
import { createJsonlEventPublisher, redactUrl } from "@meshtune/adapters";
import { startTracing, type TracingOptions, tracingEndpoint } from "@meshtune/adapters/tracing-sdk";
import { startCollector } from "@meshtune/collector";
import { DEFAULT_PREFIX } from "@meshtune/contracts";
import { type EngineWorkerOptions, startEngineWorker } from "@meshtune/engine-service";
import pino from "pino";

export interface TunerOptions {
  redisUrl: string;
  prefix?: string;
  /** Kafka brokers for the decision stream; without, `decisionsFile` or the Redis outbox. */
  kafkaBrokers?: string;
  /** JSON Lines file for decision events when there is no Kafka. */
  decisionsFile?: string;
  /** Snapshot signing key(s) (`ID:SECRET` or a bare secret; comma-separated). */
  controlKey?: string;
  collector?: { host?: string; port?: number };
  admin?: { host?: string; port?: number; token?: string };
  /** The engine worker's /metrics, /live, /ready (default 127.0.0.1 on a free port). */
  engineMetrics?: { host: string; port: number };
  evaluationIntervalMs?: number;
  /** Engine rule settings over the defaults (e.g. one rule off: `{ eject: { enabled: false } }`). */
  engineConfig?: EngineWorkerOptions["config"];
  dryRun?: boolean;
  /** Logs go here (JSON lines) instead of stdout. */
  logFile?: string;
  logLevel?: string;
  /**
   * The tuner's own traces (one per decision: OTLP request → job → rule → publish → ACKs):
   * to an OTLP/HTTP endpoint and/or given span processors. Absent: not traced, no cost.
   */
  tracing?: Omit<TracingOptions, "serviceName">;
}

export interface Tuner {
  /** OTLP/HTTP base URL the proxies export to. */
  readonly collectorUrl: string;
  readonly actuatorAdminUrl: string;
  /** Prometheus endpoints of the parts. */
  readonly metricsUrls: readonly string[];
  close(): Promise<void>;
}

export async function startTuner(o: TunerOptions): Promise<Tuner> {
  const logFile = o.logFile ? createWriteStream(o.logFile, { flags: "a" }) : undefined;
  const logger = pino({ name: "meshtune-tuner", level: o.logLevel ?? "info" }, logFile ?? process.stdout);
  // Closed in reverse order of registration: the log file last, after every part has logged its stop.
  const closers: Array<() => Promise<void>> = logFile ? [() => new Promise<void>((r) => logFile.end(r))] : [];
  const close = async () => {
    for (const fn of closers.splice(0).reverse()) await fn().catch((err) => logger.warn({ err }, "close failed"));
  };
  try {
    const tracing = o.tracing ? await startTracing({ serviceName: "meshtune-tuner", ...o.tracing }) : undefined;
    // Registered first, so closed last: the spans of the shutdown are still exported.
    if (tracing) closers.push(() => tracing.shutdown());
    const collector = await startCollector({
      redis: o.redisUrl,
      prefix: o.prefix,
      host: o.collector?.host ?? "127.0.0.1",
      port: o.collector?.port ?? 0,
      evaluationIntervalMs: o.evaluationIntervalMs,
      logger: logger.child({ component: "collector" }),
    });
    closers.push(() => collector.close());
    const engine = await startEngineWorker({
      redisUrl: o.redisUrl,
      prefix: o.prefix,
      dryRun: o.dryRun,
      config: o.engineConfig,
      ...(o.engineMetrics ? { metricsAddress: o.engineMetrics } : {}),
      // One process, one set of process metrics (the collector's registry has them).
      processMetrics: false,
      logger: logger.child({ component: "engine" }),
    });
    closers.push(() => engine.close());
    const actuator = await startActuator({
      redisUrl: o.redisUrl,
      prefix: o.prefix,
      kafkaBrokers: o.kafkaBrokers,
      publisher: !o.kafkaBrokers && o.decisionsFile ? createJsonlEventPublisher(o.decisionsFile) : undefined,
      controlKey: o.controlKey,
      admin: { host: o.admin?.host ?? "127.0.0.1", port: o.admin?.port ?? 0, token: o.admin?.token },
      logger: logger.child({ component: "actuator" }),
    });
    closers.push(() => actuator.close());
    const admin = actuator.adminAddress;
    const adminUrl = admin ? `http://${admin.address}:${admin.port}` : "";
    return {
      collectorUrl: collector.url,
      actuatorAdminUrl: adminUrl,
      metricsUrls: [`${collector.url}/metrics`, ...(adminUrl ? [`${adminUrl}/metrics`] : []), ...engine.metricsUrls],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export const TUNER_HELP = `Usage: meshtune tuner [options]

Runs the whole tuner in one process — the embedded default for a single machine: the collector
(OTLP/HTTP receiver for the proxies' telemetry → per-endpoint windows in Redis), an engine
worker (evaluates each cluster's windows → decisions) and the actuator (decisions → signed,
versioned snapshots the proxies apply; decision events to Kafka). For scale-out run
\`meshtune collector\`, \`meshtune engine\` and \`meshtune actuator\` separately on the same Redis.

Options:
      --redis-url URL        Redis (env REDIS_URL; default redis://127.0.0.1:6379)
      --prefix P             Redis key prefix (env MESHTUNE_REDIS_PREFIX; default ${DEFAULT_PREFIX})
      --kafka-brokers LIST   Kafka brokers for decision events (env KAFKA_BROKERS); without them
                             events wait in the Redis outbox, or go to --decisions-file
      --decisions-file FILE  Append decision events (CloudEvents JSON) here when there is no Kafka
      --control-key KEY      Snapshot signing key, ID:SECRET or SECRET (env MESHTUNE_CONTROL_KEY);
                             proxies need the same key. Without one snapshots are unsigned.
      --otlp-address H:P     Collector's OTLP/HTTP listen address (default 127.0.0.1:4318)
      --admin-address H:P    Actuator admin API (default 127.0.0.1:15090)
      --admin-token TOKEN    Bearer token for mutating admin calls (env MESHTUNE_ADMIN_TOKEN)
      --engine-metrics-address H:P
                             Engine worker's /metrics, /live, /ready (default 127.0.0.1:9465);
                             the collector serves its /metrics on the OTLP port, the actuator on
                             its admin port
      --evaluation-interval-ms N
                             How often each cluster with fresh data is evaluated (default 1000)
      --dry-run              Decide and publish, never apply (every cluster)
      --log-level LEVEL      trace|debug|info|warn|error (default info)
      --otlp-endpoint URL    Export the tuner's own traces (one per decision) over OTLP/HTTP to
                             this base URL (env OTEL_EXPORTER_OTLP_ENDPOINT); not to its own
                             collector. Without it the tuner is not traced.
  -h, --help                 Show this help

SIGTERM/SIGINT: stop taking telemetry, finish running jobs, flush, exit 0.`;

function hostPort(raw: string, flag: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(raw);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${flag} must be HOST:PORT, got '${raw}'`);
  return { host: m[1]!, port };
}

const tracedTo = (endpoint: string | undefined) => (endpoint ? { tracing: { endpoint } } : {});

export async function runTuner(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "redis-url": { type: "string" },
      prefix: { type: "string" },
      "kafka-brokers": { type: "string" },
      "decisions-file": { type: "string" },
      "control-key": { type: "string" },
      "otlp-address": { type: "string", default: "127.0.0.1:4318" },
      "admin-address": { type: "string", default: "127.0.0.1:15090" },
      "admin-token": { type: "string" },
      "engine-metrics-address": { type: "string", default: "127.0.0.1:9465" },
      "evaluation-interval-ms": { type: "string", default: "1000" },
      "dry-run": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      "otlp-endpoint": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(TUNER_HELP);
    return 0;
  }
  const interval = Number(values["evaluation-interval-ms"]);
  if (!Number.isInteger(interval) || interval < 100 || interval > 60_000) {
    console.error("meshtune tuner: --evaluation-interval-ms must be an integer from 100 to 60000");
    return 2;
  }
  let collector: { host: string; port: number };
  let admin: { host: string; port: number };
  let engineMetrics: { host: string; port: number };
  try {
    collector = hostPort(values["otlp-address"], "--otlp-address");
    admin = hostPort(values["admin-address"], "--admin-address");
    engineMetrics = hostPort(values["engine-metrics-address"], "--engine-metrics-address");
  } catch (err) {
    console.error(`meshtune tuner: ${(err as Error).message}`);
    return 2;
  }
  const redisUrl = values["redis-url"] ?? env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const tuner = await startTuner({
    redisUrl,
    prefix: values.prefix ?? env.MESHTUNE_REDIS_PREFIX,
    kafkaBrokers: values["kafka-brokers"] ?? env.KAFKA_BROKERS,
    decisionsFile: values["decisions-file"],
    controlKey: values["control-key"] ?? env.MESHTUNE_CONTROL_KEY,
    collector,
    admin: { ...admin, token: values["admin-token"] ?? env.MESHTUNE_ADMIN_TOKEN },
    engineMetrics,
    evaluationIntervalMs: interval,
    dryRun: values["dry-run"],
    logLevel: values["log-level"],
    ...tracedTo(tracingEndpoint(values["otlp-endpoint"], env)),
  });
  console.error(
    `meshtune tuner: collector ${tuner.collectorUrl}, actuator admin ${tuner.actuatorAdminUrl}, Redis ${redactUrl(redisUrl)}; /metrics: ${tuner.metricsUrls.join(" ")}`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await tuner.close();
  return 0;
}
