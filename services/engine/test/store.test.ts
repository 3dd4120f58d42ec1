import { createRedis } from "@meshtune/adapters";
import { type Decision, redisChannels, redisKeys } from "@meshtune/contracts";
import { initialState } from "@meshtune/engine";
import { afterAll, describe, expect, test } from "vitest";
import { createEngineStore, parseOperatorSettings } from "../src/index.js";
import { randomPrefix, requireRedis } from "./helpers.js";

const decision = (id: string): Decision => ({
  apiVersion: "meshtune.io/decision/v1alpha1",
  id,
  cluster: "api.example.com",
  endpoint: "10.0.0.1:443",
  kind: "eject",
  rule: "fleet-eject",
  reason: "test",
  inputs: {},
  before: { ejected: false },
  after: { ejected: true },
  dryRun: false,
  decidedAt: new Date(0).toISOString(),
});

describe("operator settings", () => {
  test("settings hashes and pins parse into OperatorSettings; a bad pin is reported, not fatal", () => {
    const { settings, badPins } = parseOperatorSettings(
      { dryRun: "true", maxChangesPerMinute: "12" },
      { killSwitch: "1" },
      {
        "10.0.0.1:443": JSON.stringify({ weight: 500, by: "bob" }),
        "10.0.0.2:443": "{not json",
        "10.0.0.3:443": JSON.stringify({ weight: 0 }),
      },
    );
    expect(settings).toEqual({
      dryRun: { cluster: true, global: false },
      killSwitch: { cluster: false, global: true },
      pins: { "10.0.0.1:443": { weight: 500, by: "bob" } },
      maxChangesPerMinute: 12,
    });
    expect(badPins.sort()).toEqual(["10.0.0.2:443", "10.0.0.3:443"]);
  });
});

describe("engine store (real Redis)", async () => {
  const url = await requireRedis();
  const redis = createRedis(url);
  afterAll(() => redis.quit());

  test("commit adds each decision once, writes the state, publishes the cluster, and is fenced by the lock", async () => {
    const prefix = randomPrefix();
    const keys = redisKeys(prefix);
    const store = createEngineStore(redis, { prefix });
    const sub = createRedis(url);
    const messages: string[] = [];
    await sub.subscribe(redisChannels(prefix).decisions());
    sub.on("message", (_c, m) => messages.push(m));
    try {
      const cluster = "api.example.com";
      const token = await store.lock(cluster, 5_000);
      expect(token).toBeDefined();
      expect(await store.lock(cluster, 5_000)).toBeUndefined();
      const state = { ...initialState(), lastEvaluatedAt: 1 };
      const first = await store.commit(cluster, token!, state, [decision("a"), decision("b")]);
      expect(first).toMatchObject({ ok: true });
      expect(first.ok && first.value.map((d) => d.id)).toEqual(["a", "b"]);
      // A retried job: the same decisions again add nothing and publish nothing.
      const again = await store.commit(cluster, token!, { ...state, lastEvaluatedAt: 2 }, [
        decision("a"),
        decision("b"),
        decision("c"),
      ]);
      expect(again.ok && again.value.map((d) => d.id)).toEqual(["c"]);
      expect(await redis.xlen(keys.decisions(cluster))).toBe(3);
      expect(JSON.parse((await redis.get(keys.engineState(cluster))) ?? "{}").lastEvaluatedAt).toBe(2);
      expect(await redis.pttl(keys.decisionSeen(cluster, "a"))).toBeGreaterThan(0);
      // The lock released: a commit with the old token writes nothing.
      await store.unlock(cluster, token!);
      const fenced = await store.commit(cluster, token!, { ...state, lastEvaluatedAt: 3 }, [decision("d")]);
      expect(fenced).toMatchObject({ ok: false });
      expect(await redis.xlen(keys.decisions(cluster))).toBe(3);
      await new Promise((r) => setTimeout(r, 100));
      expect(messages).toEqual([cluster, cluster]);
      const loaded = await store.load(cluster);
      expect(loaded.state.lastEvaluatedAt).toBe(2);
    } finally {
      await sub.quit();
    }
  });
});
