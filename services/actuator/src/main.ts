/**
 * `meshtune actuator`: flags and environment, then startActuator; runs until SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { redactUrl } from "@meshtune/adapters";
import { withTracing } from "@meshtune/adapters/tracing-sdk";
import { DEFAULT_PREFIX, KAFKA_TOPICS } from "@meshtune/contracts";
import pino from "pino";
import { DEFAULT_ADMIN_PORT, startActuator } from "./actuator.js";
import { DEFAULT_SETTINGS } from "./context.js";

export const ACTUATOR_HELP = `Usage: meshtune actuator [options]

Folds the engine's decisions into signed, versioned per-cluster control snapshots in Redis,
announces each version to the proxies, tracks which proxies ACKed or NACKed it (rolling back
when too many NACK), and publishes every decision and convergence/rollback event to Kafka as
CloudEvents through a durable Redis outbox. Admin API: versions, convergence, pending decisions,
pins, dry-run and kill switch (docs/decision-stream.md).

Options:
      --redis-url URL        Redis (env MESHTUNE_REDIS_URL, then REDIS_URL; default redis://127.0.0.1:6379)
      --redis-prefix P       Key prefix shared with the proxies and engine (env MESHTUNE_REDIS_PREFIX; default ${DEFAULT_PREFIX})
      --kafka-brokers LIST   host:port,... (env MESHTUNE_KAFKA_BROKERS, then KAFKA_BROKERS); without
                             brokers events wait in the Redis outbox
      --topic NAME           Decision topic (default ${KAFKA_TOPICS.decisions})
      --control-key KEY      Signing key: SECRET or ID:SECRET, comma-separated for rotation, the first
                             signs (env MESHTUNE_CONTROL_KEY); without a key snapshots are unsigned
      --control-key-file F   Read the key(s) from a file instead
      --admin HOST:PORT      Admin API address (env MESHTUNE_ACTUATOR_ADMIN; default 127.0.0.1:${DEFAULT_ADMIN_PORT});
                             "off" disables it
      --admin-token TOKEN    Bearer token for mutating admin calls (env MESHTUNE_ADMIN_TOKEN); without
                             one, pins and settings cannot be changed through the API
      --admin-token-file F   Read the token from a file instead
      --nack-threshold R     Share of known proxies whose NACK rolls a version back, in (0, 1]
                             (default ${DEFAULT_SETTINGS.nackThreshold})
      --proxy-stale-ms MS    A proxy not heard from for this long no longer counts (default ${DEFAULT_SETTINGS.proxyStaleMs})
      --scan-interval-ms MS  Periodic scan of every cluster (default ${DEFAULT_SETTINGS.scanIntervalMs})
      --log-level LEVEL      trace|debug|info|warn|error (default info)
  -h, --help                 Show this help

SIGTERM/SIGINT: finish the running actuations, close and exit 0.
Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, the service exports its own spans (one trace per
decision, docs/decisions/0018-tuner-tracing.md) over OTLP/HTTP there.`;

function secret(value: string | undefined, file: string | undefined, what: string): string | undefined {
  if (value && file) throw new Error(`--${what} and --${what}-file are exclusive`);
  return file ? readFileSync(file, "utf8").trim() : value;
}

function parseAddress(spec: string): { host: string; port: number } {
  const i = spec.lastIndexOf(":");
  const port = Number(spec.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--admin: bad address '${spec}'`);
  return { host: spec.slice(0, i) || "127.0.0.1", port };
}

function number(v: string | undefined, what: string, ok: (n: number) => boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${what}: bad value '${v}'`);
  return n;
}

/** Traced when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/decisions/0018-tuner-tracing.md). */
export function runActuator(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return withTracing("meshtune-actuator", env, () => runActuatorUntraced(argv, env));
}

async function runActuatorUntraced(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        "redis-url": { type: "string" },
        "redis-prefix": { type: "string" },
        "kafka-brokers": { type: "string" },
        topic: { type: "string" },
        "control-key": { type: "string" },
        "control-key-file": { type: "string" },
        admin: { type: "string" },
        "admin-token": { type: "string" },
        "admin-token-file": { type: "string" },
        "nack-threshold": { type: "string" },
        "proxy-stale-ms": { type: "string" },
        "scan-interval-ms": { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`meshtune actuator: ${(err as Error).message} (see --help)`);
    return 2;
  }
  if (values.help) {
    console.log(ACTUATOR_HELP);
    return 0;
  }
  const s = (k: string) => values[k] as string | undefined;
  let opts: Parameters<typeof startActuator>[0];
  try {
    const adminSpec = s("admin") ?? env.MESHTUNE_ACTUATOR_ADMIN;
    const admin = adminSpec === "off" ? undefined : parseAddress(adminSpec ?? `127.0.0.1:${DEFAULT_ADMIN_PORT}`);
    opts = {
      redisUrl: s("redis-url") ?? env.MESHTUNE_REDIS_URL ?? env.REDIS_URL ?? "redis://127.0.0.1:6379",
      prefix: s("redis-prefix") ?? env.MESHTUNE_REDIS_PREFIX,
      kafkaBrokers: s("kafka-brokers") ?? env.MESHTUNE_KAFKA_BROKERS ?? env.KAFKA_BROKERS,
      topic: s("topic"),
      controlKey: secret(s("control-key") ?? env.MESHTUNE_CONTROL_KEY, s("control-key-file"), "control-key"),
      admin: admin
        ? {
            ...admin,
            token: secret(s("admin-token") ?? env.MESHTUNE_ADMIN_TOKEN, s("admin-token-file"), "admin-token"),
          }
        : false,
      settings: {
        nackThreshold: number(s("nack-threshold"), "nack-threshold", (n) => n > 0 && n <= 1),
        proxyStaleMs: number(s("proxy-stale-ms"), "proxy-stale-ms", (n) => n >= 1_000),
        scanIntervalMs: number(s("scan-interval-ms"), "scan-interval-ms", (n) => n >= 50),
      },
    };
    opts.settings = Object.fromEntries(Object.entries(opts.settings ?? {}).filter(([, v]) => v !== undefined));
  } catch (err) {
    console.error(`meshtune actuator: ${(err as Error).message}`);
    return 2;
  }
  const logger = pino({ name: "meshtune-actuator", level: s("log-level") });
  logger.info({ redis: redactUrl(opts.redisUrl), kafka: opts.kafkaBrokers ?? "none" }, "starting");
  const actuator = await startActuator({ ...opts, logger });
  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      logger.info({ signal }, "stopping");
      await actuator.close();
      resolve(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}
