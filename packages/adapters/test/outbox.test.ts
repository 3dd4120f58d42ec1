/**
 * The decision stream through the durable outbox against real brokers of both Kafka versions
 * users run (3.9 and 4.x, KRaft, each a private broker of this test): while the broker is
 * stopped events wait in Redis; after it is back every event arrives, in order per cluster,
 * and any duplicate carries the same CloudEvent id.
 */
import { randomUUID } from "node:crypto";
import { type DecisionEvent, KAFKA_TOPICS, type MeshtuneEvent, redisKeys } from "@meshtune/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEventPublisher,
  createKafka,
  createOutboxRelay,
  createRedis,
  createSnapshotStore,
  fromKafkaRecord,
  type Redis,
  silentLogger,
} from "../src/index.js";
import { KAFKA_POMS, type PrivateBroker, startPrivateBroker } from "./broker.js";
import { Closer, decisionEvent, randomName, requireRedis, waitFor } from "./services.js";

const closer = new Closer();
let redis: Redis;
beforeAll(async () => {
  redis = createRedis(await requireRedis(), { name: "outbox-test" });
  closer.defer(() => redis.quit());
});
afterAll(() => closer.closeAll());

async function consumeAll(brokers: string, topic: string, want: number): Promise<Map<string, MeshtuneEvent[]>> {
  const consumer = createKafka({ brokers, logger: silentLogger() }).consumer({
    groupId: randomName("g"),
    maxWaitTimeInMs: 500,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  const got = new Map<string, MeshtuneEvent[]>();
  let n = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const ev = fromKafkaRecord(message);
        if (!ev.ok) throw new Error(ev.error);
        expect(message.key?.toString()).toBe(ev.value.subject);
        got.set(ev.value.subject, [...(got.get(ev.value.subject) ?? []), ev.value]);
        n++;
      },
    });
    await waitFor(`${want} events on ${topic}`, () => n >= want, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Ids in first-seen order with duplicates removed: a consumer that dedupes by id sees this. */
const dedupe = (events: readonly MeshtuneEvent[]) => [...new Set(events.map((e) => e.id))];

describe.each(Object.keys(KAFKA_POMS) as Array<keyof typeof KAFKA_POMS>)("outbox to Kafka %s", (version) => {
  let broker: PrivateBroker;
  beforeAll(async () => {
    broker = await startPrivateBroker(version);
    closer.add(broker);
  }, 320_000);

  it("loses no event while the broker is down and keeps each cluster's order", async () => {
    const prefix = randomName("p");
    const topic = `${KAFKA_TOPICS.decisions}.${randomUUID().slice(0, 8)}`;
    const publisher = closer.add(
      createEventPublisher({ brokers: broker.brokers, topic, logger: silentLogger(), topicSpec: { numPartitions: 3 } }),
    );
    const relay = createOutboxRelay({ redis, publisher, prefix, logger: silentLogger(), batchSize: 7 });
    const store = createSnapshotStore({ redis, prefix });
    const clusters = ["alpha", "beta"];
    const sent = new Map<string, DecisionEvent[]>(clusters.map((c) => [c, []]));
    const add = async (cluster: string, n: number) => {
      const evs = Array.from({ length: n }, (_, i) => decisionEvent(cluster, (sent.get(cluster)?.length ?? 0) + i));
      sent.get(cluster)?.push(...evs);
      // Half through the snapshot commit (the actuator's path), half through append().
      const cur = await store.current(cluster);
      if (!cur.ok) throw new Error(cur.error);
      const r = await store.commit(cluster, { baseVersion: cur.value.version, events: evs.slice(0, n / 2) });
      expect(r.ok && r.value.status).toBe("committed");
      expect((await relay.append(cluster, evs.slice(n / 2))).ok).toBe(true);
    };
    const flushAll = async () => {
      for (const c of clusters) {
        const r = await relay.flush(c);
        if (!r.ok) return r;
      }
      return { ok: true as const };
    };

    for (const c of clusters) await add(c, 10);
    expect((await flushAll()).ok).toBe(true);
    for (const c of clusters) expect(await redis.xlen(redisKeys(prefix).outbox(c))).toBe(0);

    await broker.stop();
    for (const c of clusters) await add(c, 20);
    const down = await flushAll();
    expect(down.ok).toBe(false);
    for (const c of clusters) expect(await redis.xlen(redisKeys(prefix).outbox(c))).toBe(20);

    await broker.start();
    await waitFor("the outbox to drain after the broker came back", async () => (await flushAll()).ok, 90_000);
    for (const c of clusters) expect(await redis.xlen(redisKeys(prefix).outbox(c))).toBe(0);

    const got = await consumeAll(broker.brokers, topic, 60);
    for (const c of clusters) {
      const want = (sent.get(c) ?? []).map((e) => e.id);
      expect(dedupe(got.get(c) ?? [])).toEqual(want);
      // A duplicate is the same event: same id, same payload.
      const byId = new Map<string, string>();
      for (const e of got.get(c) ?? []) {
        const json = JSON.stringify(e);
        expect(byId.get(e.id) ?? json).toBe(json);
        byId.set(e.id, json);
      }
    }
  }, 240_000);
});
