/** The e2e project's smoke test: the services global-setup found answer through @meshtune/adapters. */
import { randomUUID } from "node:crypto";
import { createKafkaAdmin, createRedis, type KafkaAdmin, pingRedis } from "@meshtune/adapters";
import { redisKeys } from "@meshtune/contracts";
import { afterAll, describe, expect, it } from "vitest";

const redisUrl = process.env.REDIS_URL ?? "";
const brokers = process.env.KAFKA_BROKERS ?? "";
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
}, 30_000);

describe("local services", { timeout: 30_000 }, () => {
  it("Redis answers PING and stores a prefixed key", async () => {
    const ping = await pingRedis(redisUrl);
    expect(ping.ok, ping.ok ? "" : ping.error).toBe(true);

    const redis = createRedis(redisUrl, { name: "e2e" });
    closers.push(() => redis.quit());
    const key = redisKeys(`e2e-${randomUUID().slice(0, 8)}`).clusters();
    await redis.sadd(key, "checkout");
    expect(await redis.smembers(key)).toEqual(["checkout"]);
    await redis.del(key);
  });

  it("Kafka lists topics, including one just created", async () => {
    const res = await createKafkaAdmin({ brokers, clientId: "e2e" });
    if (!res.ok) throw new Error(res.error);
    const admin: KafkaAdmin = res.value;
    closers.push(() => admin.close());

    const before = await admin.listTopics();
    expect(before.ok, before.ok ? "" : before.error).toBe(true);

    const topic = `mt-e2e-${randomUUID().slice(0, 8)}`;
    const created = await admin.createTopic(topic, { numPartitions: 1 });
    expect(created).toEqual({ ok: true, value: { created: true } });

    const after = await admin.listTopics();
    expect(after.ok && after.value.includes(topic)).toBe(true);
    expect(await admin.deleteTopics([topic])).toEqual({ ok: true });
  });
});
