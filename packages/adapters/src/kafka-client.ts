/**
 * The Kafka client every Kafka port of this package is built on: one place for broker lists,
 * timeouts and retries, TLS/SASL from the environment, and which errors a retry can help.
 */
import { readFileSync } from "node:fs";
import kafkajs, { type Kafka, type KafkaConfig } from "kafkajs";
import { defaultLogger, kafkaLogCreator, type Logger, silentLogger } from "./log.js";
import { errorMessage, type Failure, type Result } from "./result.js";

export interface KafkaClientOptions {
  /** host:port list, or the comma-separated KAFKA_BROKERS string. */
  brokers: string | string[];
  clientId?: string;
  logger?: Logger;
  /**
   * TLS and SASL, passed to kafkajs as they are. Undefined: read from the environment
   * (kafkaSecurityFromEnv), so every process that talks to Kafka — actuator, tuner, consumers —
   * is configured the same way without a flag per command (docs/security.md).
   */
  security?: KafkaSecurity;
}

export interface KafkaSecurity {
  ssl?: KafkaConfig["ssl"];
  sasl?: KafkaConfig["sasl"];
}

const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/**
 * KAFKA_SSL=true (or KAFKA_SSL_CA_FILE set) turns TLS on; KAFKA_SSL_CA_FILE adds a private CA
 * (PEM), KAFKA_SSL_REJECT_UNAUTHORIZED=false turns verification off (tests only).
 * KAFKA_SASL_MECHANISM (plain | scram-sha-256 | scram-sha-512) with KAFKA_SASL_USERNAME and
 * KAFKA_SASL_PASSWORD turns SASL on. A wrong value throws with the variable's name: a
 * misconfigured client must not silently fall back to plaintext.
 */
export function kafkaSecurityFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): KafkaSecurity {
  const out: KafkaSecurity = {};
  const caFile = env.KAFKA_SSL_CA_FILE;
  const sslFlag = env.KAFKA_SSL?.toLowerCase();
  if (sslFlag !== undefined && !["true", "false", "1", "0", ""].includes(sslFlag))
    throw new Error(`KAFKA_SSL must be true or false, got '${env.KAFKA_SSL}'`);
  if (sslFlag === "true" || sslFlag === "1" || caFile) {
    const reject = env.KAFKA_SSL_REJECT_UNAUTHORIZED?.toLowerCase() !== "false";
    out.ssl = { rejectUnauthorized: reject, ...(caFile ? { ca: [readFile(caFile)] } : {}) };
  }
  const mechanism = env.KAFKA_SASL_MECHANISM?.toLowerCase();
  if (mechanism) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism))
      throw new Error(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(", ")}, got '${mechanism}'`);
    const username = env.KAFKA_SASL_USERNAME;
    const password = env.KAFKA_SASL_PASSWORD;
    if (!username || !password)
      throw new Error("KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD");
    out.sasl = { mechanism: mechanism as (typeof SASL_MECHANISMS)[number], username, password } as KafkaConfig["sasl"];
  }
  return out;
}

export function parseBrokers(brokers: string | string[]): string[] {
  const list = typeof brokers === "string" ? brokers.split(",") : brokers;
  return list.map((b) => b.trim()).filter((b) => b.length > 0);
}

export function createKafka(opts: KafkaClientOptions, overrides: Partial<KafkaConfig> = {}): Kafka {
  const logger = opts.logger ?? defaultLogger();
  return new kafkajs.Kafka({
    clientId: opts.clientId ?? "meshtune",
    brokers: parseBrokers(opts.brokers),
    // kafkajs logs INFO lines as JSON on stdout by default; route WARN and up through pino.
    logLevel: kafkajs.logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    // kafkajs's default (5 retries, up to 30 s apart) makes a dead broker look like a hang;
    // this gives up after ~4 s and lets the caller's own retry decide.
    retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 2_000 },
    ...(opts.security ?? kafkaSecurityFromEnv()),
    ...overrides,
  });
}

/**
 * One metadata round trip with no retries, so an unreachable broker answers within about
 * `timeoutMs`. For start-up checks and test setup.
 */
export async function pingKafka(
  brokers: string | string[],
  timeoutMs = 5_000,
): Promise<Result<{ topics: number; latencyMs: number }>> {
  const list = parseBrokers(brokers);
  if (list.length === 0) return { ok: false, retryable: false, error: "no Kafka brokers given" };
  const admin = createKafka(
    { brokers: list, clientId: "meshtune-ping", logger: silentLogger() },
    { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 } },
  ).admin();
  const started = performance.now();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    return { ok: true, value: { topics: topics.length, latencyMs: performance.now() - started } };
  } catch (err) {
    return kafkaFailure(`Kafka at ${list.join(",")}`, err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Can a retry help? kafkajs marks transient errors `retriable` and wraps them in
 * KafkaJSNumberOfRetriesExceeded (non-retriable itself) once its own retries run out, so the
 * cause chain is what decides.
 */
export function isRetryable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (typeof e !== "object") break;
    const o = e as { retriable?: unknown; name?: unknown; cause?: unknown; code?: unknown };
    if (o.retriable === true) return true;
    if (o.name === "KafkaJSNumberOfRetriesExceeded" || o.name === "KafkaJSConnectionError") return true;
    if (o.code === "ECONNREFUSED" || o.code === "ECONNRESET" || o.code === "ETIMEDOUT") return true;
    e = o.cause;
  }
  return false;
}

/** A failed Kafka call as a Result, retryable when the error (or its cause) is transient. */
export function kafkaFailure(what: string, err: unknown): Failure {
  return { ok: false, retryable: isRetryable(err), error: `${what}: ${errorMessage(err)}` };
}
