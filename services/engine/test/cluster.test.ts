/**
 * The same two-worker run on a three-node Redis Cluster (testkit startRedisCluster): the
 * engine's keys share the cluster's hash tag (lock, state, stream, decision-seen markers in one
 * Lua script), BullMQ runs under the hash-tagged prefix `{mt:bull}`.
 */
import { type Cluster, connectRedis, createEvaluationQueue, type Redis } from "@meshtune/adapters";
import { type Decision, redisKeys } from "@meshtune/contracts";
import { endpointName } from "@meshtune/engine/sim";
import { type RedisClusterHandle, startRedisCluster } from "@meshtune/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JobOutcome, startEngineWorker } from "../src/index.js";
import { randomPrefix, SimWindows, waitFor } from "./helpers.js";

const START = Date.UTC(2026, 0, 1, 11);
const CLUSTERS = ["api.example.com", "billing.example.com", "maps.example.com"];
const SECONDS = 25;

describe("two engine workers on a three-node Redis Cluster", () => {
  let rc: RedisClusterHandle;
  const closers: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    rc = await startRedisCluster({ nodes: 3 });
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await rc?.stop();
  });

  test("evaluate every cluster once at a time and write each decision once", async () => {
    const url = `redis+cluster://${rc.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
    const prefix = randomPrefix();
    const windows = new SimWindows(START, (cluster) => ({
      endpoints: 4,
      proxies: 10,
      ratePerEndpoint: 40,
      seed: cluster.length,
      faults: [{ endpoint: 1, kind: "refuse", from: 10_000, to: 60_000 }],
    }));
    const outcomes: Array<JobOutcome | { result: "failed"; error: string }> = [];
    for (const _ of [0, 1]) {
      const w = await startEngineWorker({
        redisUrl: url,
        prefix,
        windows,
        metricsAddress: false,
        processMetrics: false,
        onJob: (_cluster, _at, outcome) => {
          outcomes.push(outcome);
        },
      });
      closers.push(() => w.close());
    }
    const client = connectRedis(url, { forBullMQ: true }) as Cluster;
    closers.push(() => client.quit());
    const queue = createEvaluationQueue({ connection: client as unknown as Redis, prefix });
    closers.push(() => queue.close());
    for (let s = 1; s <= SECONDS; s++) {
      for (const cluster of CLUSTERS)
        expect((await queue.enqueue({ cluster, at: new Date(START + s * 1000).toISOString() })).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor("every job to finish", () => outcomes.length >= SECONDS * CLUSTERS.length, 60_000);
    expect(outcomes.filter((o) => o.result === "failed")).toEqual([]);
    expect(windows.maxActive).toBe(1);
    for (const cluster of CLUSTERS) {
      const entries = (await client.xrange(redisKeys(prefix).decisions(cluster), "-", "+")) as [string, string[]][];
      const ds = entries.map(([, f]) => JSON.parse(f[1] ?? "{}") as Decision);
      expect(new Set(ds.map((d) => d.id)).size).toBe(ds.length);
      expect(ds.filter((d) => d.kind === "eject" && d.endpoint === endpointName(1))).toHaveLength(1);
      expect(await client.get(redisKeys(prefix).engineState(cluster))).toContain('"schema":1');
    }
  });
});
