/** Topics and consumer-group offsets: a small admin port for set-up, health checks and tests. */
import type { Admin } from "kafkajs";
import { createKafka, type KafkaClientOptions, kafkaFailure, parseBrokers } from "./kafka-client.js";
import type { Done, Result } from "./result.js";

export interface TopicSpec {
  numPartitions?: number;
  replicationFactor?: number;
}

/** Creates the topic when missing; resolves true when it created it. */
export async function ensureTopic(admin: Admin, topic: string, spec: TopicSpec = {}): Promise<boolean> {
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
    return kafkaFailure(`connect to Kafka at ${parseBrokers(opts.brokers).join(",")}`, err);
  }
  return {
    ok: true,
    value: {
      async listTopics() {
        try {
          return { ok: true, value: await admin.listTopics() };
        } catch (err) {
          return kafkaFailure("list topics", err);
        }
      },
      async createTopic(topic, spec) {
        try {
          return { ok: true, value: { created: await ensureTopic(admin, topic, spec) } };
        } catch (err) {
          return kafkaFailure(`create topic ${topic}`, err);
        }
      },
      async deleteTopics(topics) {
        try {
          await admin.deleteTopics({ topics });
          return { ok: true };
        } catch (err) {
          return kafkaFailure(`delete topics ${topics.join(",")}`, err);
        }
      },
      async committedOffsets(groupId, topic) {
        try {
          const res = await admin.fetchOffsets({ groupId, topics: [topic] });
          const partitions = res.find((t) => t.topic === topic)?.partitions ?? [];
          return { ok: true, value: partitions.map((p) => ({ partition: p.partition, offset: p.offset })) };
        } catch (err) {
          return kafkaFailure(`fetch offsets of group ${groupId}`, err);
        }
      },
      close: () => admin.disconnect(),
    },
  };
}
