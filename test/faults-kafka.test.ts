/**
 * Kafka stopped and restarted, then the actuator restarted (issue #14), with the one-process
 * tuner on a private Kafka broker of this test (infra/scripts/services.sh broker; never the
 * shared one) and decisions written the way the engine writes them for two clusters:
 * - while the broker is down decisions are still applied (versions committed in Redis) and
 *   their events wait in the Redis outbox; after it returns every event arrives once per id
 *   (a redelivery carries the same id and payload), in decision order per cluster;
 * - a new tuner process (actuator restart) continues each cluster's versions from Redis and
 *   publishes nothing again out of order.
 */
import { randomUUID } from "node:crypto";
import { createKafka, createRedis, fromKafkaRecord, type Redis, silentLogger } from "@meshtune/adapters";
import { startTuner, type Tuner } from "@meshtune/cli";
import { type Decision, KAFKA_TOPICS, type MeshtuneEvent } from "@meshtune/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PrivateBroker, startPrivateBroker } from "../packages/adapters/test/broker.js";
import { requireRedis } from "../packages/adapters/test/services.js";
import { writeDecision } from "./faults.js";
import { Closer, waitFor } from "./helpers.js";

const closer = new Closer();
const prefix = `mt-fault-kafka-${randomUUID().slice(0, 8)}`;
const CLUSTERS = ["alpha", "beta"];
const KEY = "k1:5e4d3c2b1a0918273645f5e4d3c2b1a0";
let broker: PrivateBroker;
let redis: Redis;
let redisUrl: string;
const got = new Map<string, MeshtuneEvent[]>();

beforeAll(async () => {
  redisUrl = await requireRedis();
  redis = createRedis(redisUrl, { name: "fault-kafka-test" });
  closer.defer(() => redis.quit());
  broker = await startPrivateBroker("3.9");
  closer.add(broker);
}, 300_000);
afterAll(() => closer.closeAll(), 120_000);

const tuner = (): Promise<Tuner> =>
  startTuner({ redisUrl, prefix, kafkaBrokers: broker.brokers, controlKey: KEY, logLevel: "silent" });

async function decide(n: number, sent: Map<string, Decision[]>): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const cluster of CLUSTERS) {
      const d = await writeDecision(redis, prefix, {
        kind: "set_weight",
        cluster,
        endpoint: `10.0.0.${(i % 3) + 1}:443`,
        rule: "pressure-weights",
        before: { weight: 100 },
        after: { weight: 100 + ((sent.get(cluster)?.length ?? 0) % 50) + 1 },
      });
      sent.set(cluster, [...(sent.get(cluster) ?? []), d]);
    }
  }
}

const decisionsOf = (cluster: string) => (got.get(cluster) ?? []).filter((e) => e.type === "io.meshtune.decision.v1");
const dedupe = (events: readonly MeshtuneEvent[]) => [...new Set(events.map((e) => e.id))];

it("no decision event lost or re-identified across a broker outage and an actuator restart; order per cluster kept", async () => {
  const consumer = createKafka({ brokers: broker.brokers, logger: silentLogger() }).consumer({
    groupId: `faults-${randomUUID()}`,
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  const sent = new Map<string, Decision[]>();
  let first = await tuner();
  closer.defer(() => first.close());
  await decide(3, sent);
  await new Promise((r) => setTimeout(r, 1_000));

  await broker.stop();
  const stoppedAt = Date.now();
  await decide(5, sent);
  await broker.start();
  console.info(`[faults-kafka] broker down for ${Date.now() - stoppedAt} ms`);

  await consumer.connect();
  closer.defer(() => consumer.disconnect());
  await consumer.subscribe({ topics: [KAFKA_TOPICS.decisions], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ev = fromKafkaRecord(message);
      if (!ev.ok) throw new Error(ev.error);
      got.set(ev.value.subject, [...(got.get(ev.value.subject) ?? []), ev.value]);
    },
  });
  const back = Date.now();
  await waitFor(
    "every decision event after the broker returned",
    () => CLUSTERS.every((c) => dedupe(decisionsOf(c)).length >= 8),
    40_000,
  );
  console.info(`[faults-kafka] outbox drained ${Date.now() - back} ms after the broker answered again`);

  // Actuator restart: a new tuner continues the versions from Redis.
  await first.close();
  first = await tuner();
  await decide(2, sent);
  await waitFor("the events of the restarted actuator", () =>
    CLUSTERS.every((c) => dedupe(decisionsOf(c)).length >= 10),
  );
  await first.close();

  for (const c of CLUSTERS) {
    const events = decisionsOf(c);
    expect(dedupe(events)).toEqual((sent.get(c) ?? []).map((d) => d.id));
    const byId = new Map<string, string>();
    for (const e of events) {
      const json = JSON.stringify(e);
      expect(byId.get(e.id) ?? json, `a redelivery of ${e.id} is the same event`).toBe(json);
      byId.set(e.id, json);
    }
    // Versions continue across the outage and the restart: never backwards in event order
    // (decisions folded in one step share a version).
    const versions = dedupe(events).map((id) => (byId.get(id) ? JSON.parse(byId.get(id)!).data.configVersion : 0));
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1]);
    expect(versions.at(-1)).toBeGreaterThan(versions[0]);
    console.info(
      `[faults-kafka] ${c}: ${events.length} records, ${dedupe(events).length} ids, versions ${versions.join(",")}`,
    );
  }
}, 60_000);
