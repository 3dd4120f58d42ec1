/**
 * The decision stream on Kafka through the CloudEvents Kafka protocol binding, using the
 * maintained `cloudevents` SDK (issue #11). Structured content mode: the whole event (id,
 * type, subject, data) is one JSON value, `content-type: application/cloudevents+json`
 * (docs/decisions/0013-cloudevents-structured-mode.md says why). The message key is the
 * cluster, so one cluster's events stay on one partition, in order.
 */
import { formatIssues, issuesOf, KAFKA_TOPICS, type MeshtuneEvent, MeshtuneEventSchema } from "@meshtune/contracts";
import { CloudEvent, Kafka } from "cloudevents";
import kafkajs, { type IHeaders, type Producer } from "kafkajs";
import { createKafka, createKafkaAdmin, isRetryable, type KafkaClientOptions, type TopicSpec } from "./kafka.js";
import { type Done, errorMessage, type Result } from "./result.js";

/** A Kafka record ready to send: key, value and headers as the binding maps them. */
export interface EventRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
  /** CloudEvent id (same on every retry), for logs and dedupe. */
  id: string;
  type: string;
}

/** Maps an event onto a Kafka record (structured mode), validating it against the contract first. */
export function toEventRecord(event: MeshtuneEvent): Result<EventRecord> {
  const parsed = MeshtuneEventSchema.safeParse(event);
  if (!parsed.success) {
    return { ok: false, retryable: false, error: `not a valid event:\n${formatIssues(issuesOf(parsed.error))}` };
  }
  try {
    // No `partitionkey` extension on the event: it would become an attribute inside the JSON
    // value; the binding's key mapping is done here, with the cluster (the event's subject).
    const msg = Kafka.structured(new CloudEvent(parsed.data as unknown as Record<string, unknown>, true));
    return {
      ok: true,
      value: {
        key: event.subject,
        value: String(msg.value),
        headers: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)])),
        id: event.id,
        type: event.type,
      },
    };
  } catch (err) {
    return { ok: false, retryable: false, error: `CloudEvents binding refused the event: ${errorMessage(err)}` };
  }
}

/** Reads a Kafka record (structured or binary mode) back into a validated event. */
export function fromKafkaRecord(record: {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
}): Result<MeshtuneEvent> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(record.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  try {
    // The binding reads `key` and `value` (KafkaMessage) although toEvent() is typed with Message.
    const message = { key: record.key?.toString() ?? "", value: record.value ?? "", headers, body: record.value };
    const ce = Kafka.toEvent(message as Parameters<typeof Kafka.toEvent>[0]) as CloudEvent<unknown>;
    const { partitionkey: _key, ...attrs } = JSON.parse(JSON.stringify(ce)) as Record<string, unknown>;
    const parsed = MeshtuneEventSchema.safeParse(attrs);
    if (!parsed.success) return { ok: false, retryable: false, error: formatIssues(issuesOf(parsed.error)) };
    return { ok: true, value: parsed.data };
  } catch (err) {
    return { ok: false, retryable: false, error: `not a CloudEvent: ${errorMessage(err)}` };
  }
}

export interface EventPublisherOptions extends KafkaClientOptions {
  /** Defaults to KAFKA_TOPICS.decisions. */
  topic?: string;
  topicSpec?: TopicSpec;
}

export interface EventPublisher {
  readonly topic: string;
  /** Sends the records in order (one request in flight); all acknowledged by every in-sync replica, or a failure. */
  send(records: readonly EventRecord[]): Promise<Done>;
  close(): Promise<void>;
}

export function createEventPublisher(opts: EventPublisherOptions): EventPublisher {
  const topic = opts.topic ?? KAFKA_TOPICS.decisions;
  const kafka = createKafka(opts);
  const producer: Producer = kafka.producer({
    // Same settings as the decision publisher (kafka.ts): murmur2 keys, one request in flight
    // so a retried batch cannot overtake a later one; at-least-once, consumers dedupe by id.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= (async () => {
      const admin = await createKafkaAdmin(opts);
      if (!admin.ok) throw new Error(admin.error);
      try {
        const created = await admin.value.createTopic(topic, opts.topicSpec);
        if (!created.ok) throw new Error(created.error);
      } finally {
        await admin.value.close();
      }
      await producer.connect();
    })().catch((err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  let closed = false;
  return {
    topic,
    async send(records) {
      if (closed) return { ok: false, retryable: false, error: "publisher is closed" };
      if (records.length === 0) return { ok: true };
      try {
        await init();
        await producer.send({
          topic,
          acks: -1,
          messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
        });
        return { ok: true };
      } catch (err) {
        // Start over on the next send (fresh connection and metadata): after a broker restart
        // kafkajs can otherwise keep failing on a stale connection.
        ready = undefined;
        await producer.disconnect().catch(() => {});
        return {
          ok: false,
          retryable: isRetryable(err),
          error: `send ${records.length} event(s): ${errorMessage(err)}`,
        };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.disconnect().catch(() => {});
    },
  };
}
