/**
 * Redis killed (SIGKILL) and restarted under traffic (issue #14). A private redis-server of
 * this test (append-only, fsync always, as a persistent production Redis) backs a one-process
 * tuner and two real proxy processes under steady load. While Redis is gone the proxies serve
 * every request with their last good snapshot; after it returns they resync within 2 s, and the
 * collector, engine worker and actuator work again without a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, createSnapshotStore, parseSigningKeys, type Redis, signSnapshot } from "@meshtune/adapters";
import { startTuner, type Tuner } from "@meshtune/cli";
import { type ClusterSnapshot, CONFIG_API_VERSION, redisChannels, redisKeys, TUNER_METRICS } from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  isEjected,
  metricSum,
  type PrivateRedis,
  type ProxyProc,
  scrape,
  startPrivateRedis,
  startProxyProc,
  stopProc,
  Traffic,
  writeDecision,
} from "./faults.js";
import { Closer, waitFor } from "./helpers.js";

const KEY = "k1:7d1c0b9a8e7f6d5c4b3a29180716f5e4";
const CLUSTER = "api";
const PREFIX = "mt-fault-redis";
const OUTAGE_MS = 20_000;
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-fault-redis-"));
let redisSrv: PrivateRedis;
let redis: Redis;
let sim: Simulator;
let tuner: Tuner;
const fleet: ProxyProc[] = [];

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  redisSrv = await startPrivateRedis({ dir });
  closer.defer(() => redisSrv.kill());
  redis = createRedis(redisSrv.url, { name: "fault-redis-test" });
  redis.on("error", () => {});
  closer.defer(() => redis.disconnect());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
  closer.defer(() => sim.close());
  tuner = await startTuner({
    redisUrl: redisSrv.url,
    prefix: PREFIX,
    controlKey: KEY,
    decisionsFile: join(dir, "decisions.jsonl"),
    logLevel: process.env.FAULT_DEBUG ? "info" : "silent",
    logFile: process.env.FAULT_DEBUG,
    evaluationIntervalMs: 500,
  });
  closer.defer(() => tuner.close());
  for (const id of ["r1", "r2"]) {
    const p = await startProxyProc({
      id,
      dir,
      sim,
      cluster: CLUSTER,
      redisUrl: redisSrv.url,
      prefix: PREFIX,
      controlKey: KEY,
      otlp: tuner.collectorUrl,
    });
    closer.defer(() => stopProc(p.child));
    fleet.push(p);
  }
}, 60_000);

afterAll(() => closer.closeAll(), 60_000);

const ep = (name: string) => `127.0.0.1:${sim.endpoint(name).port}`;
const allEjected = async (name: string, want: boolean) =>
  (await Promise.all(fleet.map((p) => isEjected(p, CLUSTER, ep(name))))).every((v) => v === want);

it("proxies serve through a 20 s Redis crash, resync within 2 s of its return; the tuner recovers unrestarted", async () => {
  await writeDecision(redis, PREFIX, { kind: "eject", cluster: CLUSTER, endpoint: ep("b"), after: { ejected: true } });
  await waitFor("b ejected on every proxy", () => allEjected("b", true), 15_000);
  const engineUrl = tuner.metricsUrls.find(
    (u) => !u.startsWith(tuner.collectorUrl) && !u.startsWith(tuner.actuatorAdminUrl),
  );
  expect(engineUrl).toBeDefined();

  const traffic = new Traffic(() => fleet.map((p) => p.listener), 100);
  closer.defer(() => traffic.stop());
  await new Promise((r) => setTimeout(r, 1_000));
  sim.resetStats();
  await redisSrv.kill();
  // 20 s: long enough for every client's reconnect backoff to reach its cap.
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  expect(sim.stats().b?.requests ?? 0).toBe(0); // the last good snapshot still holds

  // Redis returns with its data. A version committed before any client reconnected (nobody is
  // subscribed to announce it to) must reach every proxy through the resync on reconnect.
  await redisSrv.start();
  const back = Date.now();
  const store = createSnapshotStore({ redis, prefix: PREFIX });
  const cur = await store.current(CLUSTER);
  if (!cur.ok) throw new Error(cur.error);
  const snap: ClusterSnapshot = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ClusterSnapshot",
    cluster: CLUSTER,
    version: cur.value.version + 1,
    issuedAt: Date.now(),
    override: { endpointOverrides: { [ep("b")]: { ejected: true }, [ep("c")]: { ejected: true } } },
  };
  const committed = await store.commit(CLUSTER, {
    baseVersion: cur.value.version,
    snapshot: signSnapshot(snap, parseSigningKeys(KEY)[0]),
  });
  expect(committed.ok && committed.value.status).toBe("committed");
  await redis.publish(redisChannels(PREFIX).config(CLUSTER), String(snap.version));
  const resync = await Promise.all(
    fleet.map(async (p) => {
      await waitFor(`${p.id} resynced`, async () => (await isEjected(p, CLUSTER, ep("c"))) === true, 10_000);
      return Date.now() - back;
    }),
  );
  console.info(`[faults-redis] resync after Redis returned: ${resync.join(", ")} ms`);
  for (const ms of resync) expect(ms).toBeLessThanOrEqual(2_000);

  // Collector: the proxies' reports land in Redis again.
  await waitFor(
    "the collector writes windows again",
    async () => {
      const now = Math.floor(Date.now() / 1000);
      const secs = Array.from({ length: 4 }, (_, i) => now - i).filter((s) => s * 1000 > back);
      const found = await Promise.all(secs.map((s) => redis.exists(redisKeys(PREFIX).windowBucket(CLUSTER, s))));
      return found.some((n) => n > 0);
    },
    15_000,
  );
  // Engine worker: evaluations run again.
  const evaluated = async () =>
    metricSum(await scrape(engineUrl!), TUNER_METRICS.engineJobs.name, { result: "evaluated" });
  const before = await evaluated();
  await waitFor("the engine evaluates again", async () => (await evaluated()) > before, 15_000);
  // Actuator: a decision made after the crash is applied on every proxy.
  await writeDecision(redis, PREFIX, {
    kind: "uneject",
    cluster: CLUSTER,
    endpoint: ep("c"),
    after: { ejected: false },
  });
  const t0 = Date.now();
  await waitFor("the actuator applies a new decision", () => allEjected("c", false), 15_000);
  console.info(`[faults-redis] decision-to-applied after recovery: ${Date.now() - t0} ms`);

  await traffic.stop();
  console.info(`[faults-redis] requests ${traffic.sent}, failed ${traffic.failures.length}`);
  expect(traffic.failures).toEqual([]);
  expect(traffic.ok).toBe(traffic.sent);
  for (const p of fleet) expect(p.child.exitCode).toBeNull();
}, 60_000);
