/**
 * Decision events on Kafka (DESIGN.md section 4): the actuator publishes every decision as a
 * CloudEvent (structured mode, JSON) keyed by cluster, so one cluster's events land on one
 * partition and stay ordered while the topic scales out across clusters.
 */
import { readFileSync } from "node:fs";
import { type DecisionEvent, DecisionEventSchema, formatIssues, issuesOf, KAFKA_TOPICS } from "@meshtune/contracts";
import kafkajs, {
  type Admin,
  type Consumer,
  type IHeaders,
  type Kafka,
  type KafkaConfig,
  type Producer,
} from "kafkajs";
import { defaultLogger, kafkaLogCreator, type Logger, silentLogger } from "./log.js";
import { type Done, errorMessage, type Failure, type Result } from "./result.js";

/** CloudEvents Kafka protocol binding, structured content mode. */
export const CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8";

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
    return failure(`Kafka at ${list.join(",")}`, err);
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

function failure(what: string, err: unknown): Failure {
  return { ok: false, retryable: isRetryable(err), error: `${what}: ${errorMessage(err)}` };
}

export interface TopicSpec {
  numPartitions?: number;
  replicationFactor?: number;
}

/** Creates the topic when missing; resolves true when it created it. */
async function ensureTopic(admin: Admin, topic: string, spec: TopicSpec = {}): Promise<boolean> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return false;
  return admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        // 12 partitions: enough consumer parallelism for a fleet, cheap on a single broker.
        numPartitions: spec.numPartitions ?? 12,
        // -1 = the broker's default.replication.factor (1 locally, 3 on a real cluster).
        replicationFactor: spec.replicationFactor ?? -1,
      },
    ],
  });
}

export interface DecisionPublisherOptions extends KafkaClientOptions {
  /** Defaults to KAFKA_TOPICS.decisions; tests pass a random topic. */
  topic?: string;
  /** Used only when the publisher has to create the topic. */
  topicSpec?: TopicSpec;
}

export interface DecisionPublisher {
  readonly topic: string;
  /** Validates every event against DecisionEventSchema first; publishes all or nothing of invalid input. */
  publish(events: DecisionEvent[]): Promise<Done>;
  close(): Promise<void>;
}

export function createDecisionPublisher(opts: DecisionPublisherOptions): DecisionPublisher {
  const topic = opts.topic ?? KAFKA_TOPICS.decisions;
  const kafka = createKafka(opts);
  const producer: Producer = kafka.producer({
    // Murmur2 like the Java client, so Java consumers and kafkajs agree on key -> partition.
    // Passing it explicitly also silences kafkajs 2.x's partitioner-change warning.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    // One request in flight: a retried send cannot overtake a later one, so a cluster's
    // events stay in order on its partition. Delivery is at-least-once; consumers dedupe by
    // the CloudEvent id. Not `idempotent: true`: kafkajs then retries forever by default (a
    // dead broker would hang publish()) and warns that bounded retries void its guarantees.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopic(admin, topic, opts.topicSpec);
      } finally {
        await admin.disconnect();
      }
      await producer.connect();
    })().catch((err) => {
      ready = undefined; // the next publish tries again
      throw err;
    });
    return ready;
  };
  let closed = false;

  return {
    topic,
    async publish(events) {
      if (closed) return { ok: false, retryable: false, error: "publisher is closed" };
      for (const [i, event] of events.entries()) {
        const parsed = DecisionEventSchema.safeParse(event);
        if (!parsed.success) {
          return {
            ok: false,
            retryable: false,
            error: `events[${i}] is not a valid DecisionEvent:\n${formatIssues(issuesOf(parsed.error))}`,
          };
        }
      }
      if (events.length === 0) return { ok: true };
      try {
        await init();
      } catch (err) {
        return failure(`connect to Kafka / create topic ${topic}`, err);
      }
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: events.map((event) => ({
            key: event.subject,
            value: JSON.stringify(event),
            headers: { "content-type": CLOUDEVENTS_CONTENT_TYPE },
          })),
        });
        return { ok: true };
      } catch (err) {
        return failure(`publish ${events.length} decision event(s) to ${topic}`, err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.disconnect();
    },
  };
}

export interface ReceivedDecision {
  event: DecisionEvent;
  /** The Kafka message key (the cluster). */
  key: string | null;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

export interface DecisionConsumerOptions extends KafkaClientOptions {
  groupId: string;
  topic?: string;
  onEvent: (received: ReceivedDecision) => Promise<void> | void;
  /** A message that is not a valid DecisionEvent; default: log and skip it (never block the partition). */
  onInvalid?: (error: string, meta: { partition: number; offset: string }) => void;
  /** Default true: a new group starts at the earliest offset. */
  fromBeginning?: boolean;
  /** Group tuning; tests shorten these so rebalances settle in about a second. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * Longest fetch long-poll. kafkajs heartbeats and notices a rebalance only between fetches,
   * so this bounds how long a rebalance and close() wait; new events still arrive at once.
   * Default 1000 ms (kafkajs: 5000).
   */
  maxWaitTimeMs?: number;
}

export interface DecisionConsumer {
  /** Partitions of the topic this member owns after the latest rebalance. */
  assignment(): number[];
  /** Called after every group join with this member's partitions; returns the unsubscribe handle. */
  onAssignment(listener: (partitions: number[]) => void): () => void;
  close(): Promise<void>;
}

/** Joins the group and starts consuming; resolves after the first group join. */
export async function createDecisionConsumer(opts: DecisionConsumerOptions): Promise<DecisionConsumer> {
  const logger = opts.logger ?? defaultLogger();
  const topic = opts.topic ?? KAFKA_TOPICS.decisions;
  const kafka = createKafka(opts);
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: opts.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: opts.maxWaitTimeMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  let partitions: number[] = [];
  const listeners = new Set<(partitions: number[]) => void>();
  let joined!: () => void;
  const firstJoin = new Promise<void>((resolve) => {
    joined = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    partitions = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    for (const l of listeners) l(partitions);
    joined();
  });
  const onInvalid =
    opts.onInvalid ??
    ((error, meta) => logger.warn({ topic, ...meta }, `skipping a message that is not a DecisionEvent: ${error}`));

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const meta = { partition, offset: message.offset };
        let json: unknown;
        try {
          json = JSON.parse(message.value?.toString("utf8") ?? "");
        } catch (err) {
          onInvalid(`not JSON (${errorMessage(err)})`, meta);
          return;
        }
        const parsed = DecisionEventSchema.safeParse(json);
        if (!parsed.success) {
          onInvalid(formatIssues(issuesOf(parsed.error)), meta);
          return;
        }
        await opts.onEvent({
          event: parsed.data,
          key: message.key?.toString("utf8") ?? null,
          partition,
          offset: message.offset,
          headers: headersToStrings(message.headers),
        });
      },
    });
    await firstJoin;
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw err;
  }

  return {
    assignment: () => [...partitions],
    onAssignment(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      // Commits consumed offsets and leaves the group, so the others rebalance at once.
      await consumer.disconnect();
    },
  };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(",") : v.toString();
  }
  return out;
}

export interface KafkaAdmin {
  listTopics(): Promise<Result<string[]>>;
  createTopic(topic: string, spec?: TopicSpec): Promise<Result<{ created: boolean }>>;
  deleteTopics(topics: string[]): Promise<Done>;
  /** Committed offset per partition for a consumer group ("-1" = nothing committed yet). */
  committedOffsets(groupId: string, topic: string): Promise<Result<Array<{ partition: number; offset: string }>>>;
  close(): Promise<void>;
}

/** A small admin port for set-up, health checks and tests. */
export async function createKafkaAdmin(opts: KafkaClientOptions): Promise<Result<KafkaAdmin>> {
  const admin = createKafka(opts).admin();
  try {
    await admin.connect();
  } catch (err) {
    return failure(`connect to Kafka at ${parseBrokers(opts.brokers).join(",")}`, err);
  }
  return {
    ok: true,
    value: {
      async listTopics() {
        try {
          return { ok: true, value: await admin.listTopics() };
        } catch (err) {
          return failure("list topics", err);
        }
      },
      async createTopic(topic, spec) {
        try {
          return { ok: true, value: { created: await ensureTopic(admin, topic, spec) } };
        } catch (err) {
          return failure(`create topic ${topic}`, err);
        }
      },
      async deleteTopics(topics) {
        try {
          await admin.deleteTopics({ topics });
          return { ok: true };
        } catch (err) {
          return failure(`delete topics ${topics.join(",")}`, err);
        }
      },
      async committedOffsets(groupId, topic) {
        try {
          const res = await admin.fetchOffsets({ groupId, topics: [topic] });
          const partitions = res.find((t) => t.topic === topic)?.partitions ?? [];
          return { ok: true, value: partitions.map((p) => ({ partition: p.partition, offset: p.offset })) };
        } catch (err) {
          return failure(`fetch offsets of group ${groupId}`, err);
        }
      },
      close: () => admin.disconnect(),
    },
  };
}
