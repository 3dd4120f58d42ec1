/**
 * The decision stream on a real broker: createEventPublisher sends what toEventRecord made
 * (the actuator's outbox path) and createDecisionConsumer reads it back, validated.
 */
import type { DecisionEvent } from "@meshtune/contracts";
import { afterAll, describe, expect, it } from "vitest";
import {
  CLOUDEVENTS_CONTENT_TYPE,
  createDecisionConsumer,
  createEventPublisher,
  createKafkaAdmin,
  type DecisionConsumer,
  type EventRecord,
  type KafkaAdmin,
  type ReceivedDecision,
  silentLogger,
  toEventRecord,
} from "../src/index.js";
import { Closer, decisionEvent, randomName, requireKafka, waitFor } from "./services.js";

const closer = new Closer();
const topics: string[] = [];
let admin: KafkaAdmin | undefined;
afterAll(async () => {
  if (admin && topics.length > 0) await admin.deleteTopics(topics);
  await closer.closeAll();
}, 60_000);

async function kafkaAdmin(brokers: string): Promise<KafkaAdmin> {
  if (admin) return admin;
  const res = await createKafkaAdmin({ brokers });
  if (!res.ok) throw new Error(res.error);
  admin = closer.add(res.value);
  return admin;
}

/** The records the outbox relay would send for these events. */
function records(events: readonly DecisionEvent[]): EventRecord[] {
  return events.map((e) => {
    const r = toEventRecord(e);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  });
}

// Short group timings so joins and rebalances settle in about a second.
const groupTiming = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 250 };

describe("Kafka decision events (real broker)", { timeout: 60_000 }, () => {
  it("publishes CloudEvents keyed by cluster and a consumer group reads them back intact", async () => {
    const brokers = await requireKafka();
    const topic = randomName("decisions");
    topics.push(topic);
    const publisher = closer.add(
      createEventPublisher({ brokers, clientId: "test-pub", topic, topicSpec: { numPartitions: 3 } }),
    );

    const clusters = ["checkout", "payments", "search", "ledger"];
    const sent: DecisionEvent[] = [];
    for (let seq = 0; seq < 12; seq++) sent.push(decisionEvent(clusters[seq % clusters.length]!, seq));
    const res = await publisher.send(records(sent));
    expect(res).toEqual({ ok: true });

    // The publisher created the topic on first use.
    const listed = await (await kafkaAdmin(brokers)).listTopics();
    expect(listed.ok && listed.value.includes(topic)).toBe(true);

    const groupId = randomName("group");
    const got: ReceivedDecision[] = [];
    const consumer = closer.add(
      await createDecisionConsumer({ brokers, groupId, topic, onEvent: (r) => void got.push(r), ...groupTiming }),
    );
    expect(consumer.assignment()).toEqual([0, 1, 2]);
    await waitFor("all 12 decision events", () => got.length === sent.length);

    // Intact: every event comes back exactly as sent (schema-validated on the way in).
    const byId = new Map(got.map((r) => [r.event.id, r]));
    for (const event of sent) expect(byId.get(event.id)?.event).toEqual(event);
    for (const r of got) {
      expect(r.key).toBe(r.event.subject);
      expect(r.headers["content-type"]).toBe(CLOUDEVENTS_CONTENT_TYPE);
    }
    // Keyed by cluster: one cluster -> one partition, in publish order.
    for (const cluster of clusters) {
      const mine = got.filter((r) => r.event.subject === cluster);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      expect(mine.map((r) => r.event.id)).toEqual(sent.filter((e) => e.subject === cluster).map((e) => e.id));
    }

    // The group committed its position: after close, offsets cover every message.
    await consumer.close();
    const offsets = await (await kafkaAdmin(brokers)).committedOffsets(groupId, topic);
    expect(offsets.ok).toBe(true);
    if (offsets.ok) {
      const committed = offsets.value.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      expect(committed).toBe(sent.length);
    }
  });

  it("two consumers in one group split the partitions between them", async () => {
    const brokers = await requireKafka();
    const topic = randomName("split");
    topics.push(topic);
    const kadmin = await kafkaAdmin(brokers);
    const created = await kadmin.createTopic(topic, { numPartitions: 4 });
    expect(created).toEqual({ ok: true, value: { created: true } });

    const groupId = randomName("group");
    const seen = new Map<string, string>(); // event id -> consumer
    const start = (name: string) =>
      createDecisionConsumer({
        brokers,
        groupId,
        topic,
        clientId: name,
        onEvent: (r) => void seen.set(r.event.id, name),
        ...groupTiming,
      });
    const a: DecisionConsumer = closer.add(await start("a"));
    const b: DecisionConsumer = closer.add(await start("b"));
    await waitFor("a rebalance that gives both members partitions", () => {
      const pa = a.assignment();
      const pb = b.assignment();
      return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === "0,1,2,3";
    });

    const publisher = closer.add(createEventPublisher({ brokers, topic }));
    const events = Array.from({ length: 40 }, (_, i) => decisionEvent(`cluster-${i}`, i));
    expect(await publisher.send(records(events))).toEqual({ ok: true });
    await waitFor("all 40 events", () => seen.size === events.length);
    expect(new Set(seen.values())).toEqual(new Set(["a", "b"]));
  });

  it("an invalid event never becomes a record, so it cannot reach the publisher", () => {
    const bad = { ...decisionEvent("checkout", 1), specversion: "0.3" } as unknown as DecisionEvent;
    const res = toEventRecord(bad);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.retryable).toBe(false);
      expect(res.error).toContain("specversion");
    }
  });

  it("sends nothing and creates no topic for an empty batch", async () => {
    const brokers = await requireKafka();
    const topic = randomName("never-created");
    const publisher = closer.add(createEventPublisher({ brokers, topic }));
    expect(await publisher.send([])).toEqual({ ok: true });
    const listed = await (await kafkaAdmin(brokers)).listTopics();
    expect(listed.ok && !listed.value.includes(topic)).toBe(true);
  });

  it("reports an unreachable broker as a retryable failure instead of throwing", async () => {
    const publisher = closer.add(
      createEventPublisher({ brokers: "127.0.0.1:1", topic: randomName("nowhere"), logger: silentLogger() }),
    );
    const res = await publisher.send(records([decisionEvent("checkout", 0)]));
    expect(res).toMatchObject({ ok: false, retryable: true });
  });

  it("refuses to send once closed", async () => {
    const publisher = createEventPublisher({ brokers: "127.0.0.1:1", logger: silentLogger() });
    await publisher.close();
    expect(await publisher.send(records([decisionEvent("checkout", 0)]))).toMatchObject({
      ok: false,
      retryable: false,
    });
  });
});
