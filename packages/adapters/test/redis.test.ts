import { redisKeys } from "@meshtune/contracts";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis, createRedisPubSub, deleteMatching, pingRedis, redactUrl, silentLogger } from "../src/index.js";
import { Closer, randomName, requireRedis, waitFor } from "./services.js";

const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);

describe("redis (real server)", { timeout: 60_000 }, () => {
  it("answers PING", async () => {
    const url = await requireRedis();
    const ping = await pingRedis(url);
    expect(ping.ok).toBe(true);
  });

  it("deleteMatching removes every key of a prefix, across SCAN pages, and nothing else", async () => {
    const url = await requireRedis();
    const redis = createRedis(url);
    closer.defer(() => redis.quit());
    const prefix = randomName("del");
    const other = randomName("keep");
    for (let i = 0; i < 1_200; i += 200)
      await redis.mset(Object.fromEntries(Array.from({ length: 200 }, (_, j) => [`${prefix}:k${i + j}`, "1"])));
    await redis.set(`${other}:k`, "1");
    expect(await deleteMatching(redis, `${prefix}:*`)).toBe(1_200);
    expect(await redis.exists(`${prefix}:k0`, `${prefix}:k1199`)).toBe(0);
    expect(await redis.get(`${other}:k`)).toBe("1");
    await redis.del(`${other}:k`);
  });

  it("round-trips a message through pub/sub on a contracts channel", async () => {
    const url = await requireRedis();
    const pubsub = closer.add(createRedisPubSub({ connection: url, prefix: randomName("ps") }));
    const channel = pubsub.channels.config("checkout");
    expect(channel).toMatch(/^mt-test-ps-[0-9a-f]{8}:\{checkout\}:config$/);

    const got: Array<[string, string]> = [];
    const unsubscribe = await pubsub.subscribe(channel, (message, ch) => got.push([ch, message]));
    const receivers = await pubsub.publish(channel, JSON.stringify({ version: 7 }));
    expect(receivers).toBe(1);
    await waitFor("the published message", () => got.length === 1, 5_000);
    expect(got[0]).toEqual([channel, '{"version":7}']);

    // After unsubscribing nobody listens any more: PUBLISH reports zero receivers.
    await unsubscribe();
    expect(await pubsub.publish(channel, "after")).toBe(0);
  });

  it("delivers to every handler of a channel and keeps going when one throws", async () => {
    const url = await requireRedis();
    const publisher = createRedis(url, { name: "test-pub" });
    closer.defer(() => publisher.quit());
    // Silent: one handler below throws on purpose.
    const pubsub = closer.add(
      createRedisPubSub({ connection: publisher, prefix: randomName("ps"), logger: silentLogger() }),
    );
    const channel = pubsub.channels.acks("checkout");
    const a: string[] = [];
    const b: string[] = [];
    await pubsub.subscribe(channel, () => {
      throw new Error("handler bug");
    });
    await pubsub.subscribe(channel, (m) => a.push(m));
    await pubsub.subscribe(channel, (m) => b.push(m));
    await pubsub.publish(channel, "ack-1");
    await waitFor("both handlers", () => a.length === 1 && b.length === 1, 5_000);
    expect([a, b]).toEqual([["ack-1"], ["ack-1"]]);
  });

  it("keys come from contracts with the test prefix", async () => {
    const url = await requireRedis();
    const redis = createRedis(url);
    closer.defer(() => redis.quit());
    const keys = redisKeys(randomName("keys"));
    await redis.set(keys.snapshot("checkout"), "v1", "EX", 60);
    expect(await redis.get(keys.snapshot("checkout"))).toBe("v1");
    await redis.del(keys.snapshot("checkout"));
  });

  it("pingRedis reports an unreachable server as a retryable failure, quickly", async () => {
    const started = Date.now();
    const ping = await pingRedis("redis://user:secret@127.0.0.1:1", 2_000);
    expect(ping.ok).toBe(false);
    if (!ping.ok) {
      expect(ping.retryable).toBe(true);
      expect(ping.error).not.toContain("secret");
    }
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(redactUrl("redis://u:p@h:1/0")).toBe("redis://u:***@h:1/0");
  });
});
