/**
 * Bounded state in Redis (issue #14): the per-version convergence records (one hash per version,
 * written by every proxy's ACK) are kept for the last CONVERGENCE_KEPT versions only, so a
 * cluster whose weights change every few seconds does not grow Redis by a hash per version
 * forever.
 */
import { createRedis, type Redis, silentLogger } from "@meshtune/adapters";
import { type Decision, redisChannels, redisKeys } from "@meshtune/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Closer, randomName, requireRedis, waitFor } from "../../../packages/adapters/test/services.js";
import { CONVERGENCE_KEPT } from "../src/actuate.js";
import { type Actuator, startActuator } from "../src/index.js";

const closer = new Closer();
const prefix = randomName("bounded");
const keys = redisKeys(prefix);
const CLUSTER = "api";
let redis: Redis;
let actuator: Actuator;

beforeAll(async () => {
  const url = await requireRedis();
  redis = createRedis(url, { name: "actuator-bounded" });
  closer.defer(async () => {
    const all = await redis.keys(`${prefix}:*`);
    if (all.length > 0) await redis.del(...all);
    await redis.quit();
  });
  actuator = await startActuator({ redisUrl: url, prefix, admin: false, logger: silentLogger() });
  closer.add(actuator);
});
afterAll(() => closer.closeAll());

it(`keeps the convergence records of the last ${CONVERGENCE_KEPT} versions only`, async () => {
  const total = CONVERGENCE_KEPT + 12;
  for (let i = 1; i <= total; i++) {
    const d: Decision = {
      apiVersion: "meshtune.io/decision/v1alpha1",
      id: `${prefix}-${i}`,
      cluster: CLUSTER,
      kind: "set_weight",
      endpoint: "10.0.0.1:443",
      rule: "pressure-weights",
      reason: "bounded-state test",
      inputs: {},
      before: { weight: 100 + i - 1 },
      after: { weight: 100 + i },
      dryRun: false,
      decidedAt: new Date().toISOString(),
    };
    await redis.xadd(keys.decisions(CLUSTER), "*", "d", JSON.stringify(d));
    await redis.sadd(keys.clusters(), CLUSTER);
    await redis.publish(redisChannels(prefix).decisions(), CLUSTER);
    await actuator.poke(CLUSTER);
    const v = Number(await redis.get(keys.snapshotVersion(CLUSTER)));
    // What a proxy's ACK writes for the version it applied.
    await redis.hset(keys.convergence(CLUSTER, v), "proxy-1", JSON.stringify({ cluster: CLUSTER, version: v }));
  }
  const last = Number(await redis.get(keys.snapshotVersion(CLUSTER)));
  expect(last).toBeGreaterThan(CONVERGENCE_KEPT);
  await waitFor(
    "old convergence records removed",
    async () => (await redis.exists(keys.convergence(CLUSTER, last - CONVERGENCE_KEPT))) === 0,
  );
  const kept = await redis.keys(`${prefix}:{${CLUSTER}}:conv:*`);
  expect(kept.length).toBeLessThanOrEqual(CONVERGENCE_KEPT);
  expect(await redis.exists(keys.convergence(CLUSTER, last))).toBe(1);
}, 60_000);
