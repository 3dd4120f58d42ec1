/**
 * The one Kafka publisher of the decision stream (DESIGN.md section 4). It sends records that
 * toEventRecord (cloudevents-kafka.ts) made: structured-mode CloudEvents keyed by cluster, so
 * one cluster's events land on one partition and stay ordered while the topic scales out
 * across clusters. The actuator's outbox relay is its caller; it creates the topic on first use.
 */
import { KAFKA_TOPICS } from "@meshtune/contracts";
import kafkajs, { type Producer } from "kafkajs";
import type { EventRecord } from "./cloudevents-kafka.js";
import { createKafkaAdmin, type TopicSpec } from "./kafka-admin.js";
import { createKafka, isRetryable, type KafkaClientOptions } from "./kafka-client.js";
import { type Done, errorMessage } from "./result.js";

export interface EventPublisherOptions extends KafkaClientOptions {
  /** Defaults to KAFKA_TOPICS.decisions; tests pass a random topic. */
  topic?: string;
  /** Used only when the publisher has to create the topic. */
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
    // Murmur2 like the Java client, so Java consumers and kafkajs agree on key -> partition.
    // Passing it explicitly also silences kafkajs 2.x's partitioner-change warning.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    // One request in flight: a retried send cannot overtake a later one, so a cluster's
    // events stay in order on its partition. Delivery is at-least-once; consumers dedupe by
    // the CloudEvent id. Not `idempotent: true`: kafkajs then retries forever by default (a
    // dead broker would hang send()) and warns that bounded retries void its guarantees.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= (async () => {
      const admin = await createKafkaAdmin(opts);
      // Keep the admin's verdict: an unreachable broker is worth retrying, a refusal is not.
      if (!admin.ok) throw Object.assign(new Error(admin.error), { retriable: admin.retryable });
      try {
        const created = await admin.value.createTopic(topic, opts.topicSpec);
        if (!created.ok) throw Object.assign(new Error(created.error), { retriable: created.retryable });
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
