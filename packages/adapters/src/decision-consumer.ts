/**
 * Reads the decision stream (DESIGN.md section 4) as a consumer group: every message is parsed
 * as a structured-mode CloudEvent and validated against DecisionEventSchema before the handler
 * sees it; anything else is reported and skipped so one bad record never blocks a partition.
 */
import { type DecisionEvent, DecisionEventSchema, formatIssues, issuesOf, KAFKA_TOPICS } from "@meshtune/contracts";
import type { Consumer, IHeaders } from "kafkajs";
import { createKafka, type KafkaClientOptions } from "./kafka-client.js";
import { defaultLogger } from "./log.js";
import { errorMessage } from "./result.js";

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
