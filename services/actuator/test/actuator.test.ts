/**
 * The closed loop end to end, with real Redis, a real Kafka broker and a fleet of real proxies
 * in front of the loopback simulator (issue #11): a decision written to the engine's stream
 * ejects an endpoint on every proxy (their /clusters show it and they stop sending to it), the
 * event reaches a Kafka consumer, and the metrics show the version converged. Then: a late
 * joiner converges from the stored snapshot; forged and unsigned snapshots are refused; a NACK
 * below the threshold keeps the last good state; NACKs past it roll the cluster back.
 */

import {
  createKafka,
  createKafkaAdmin,
  createRedis,
  createSnapshotStore,
  fromKafkaRecord,
  parseSigningKeys,
  type Redis,
  signSnapshot,
  silentLogger,
} from "@meshtune/adapters";
import {
  type ClusterSnapshot,
  CONFIG_API_VERSION,
  type Decision,
  type MeshtuneEvent,
  redisChannels,
  redisKeys,
} from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Closer, randomName, requireKafka, requireRedis, waitFor } from "../../../packages/adapters/test/services.js";
import { type Actuator, readStatus, startActuator } from "../src/index.js";
import { CLUSTER, endpointsOf, type FleetProxy, send, startFleetProxy } from "./fleet.js";

const KEY = "k1:4f1c2b9a8e7d6c5b4a39281706f5e4d3";
const TOKEN = "admin-token-for-tests";
const closer = new Closer();
const prefix = randomName("act");
const keys = redisKeys(prefix);
const events: MeshtuneEvent[] = [];
let redis: Redis;
let redisUrl: string;
let sim: Simulator;
let actuator: Actuator;
let adminUrl: string;
const fleet: FleetProxy[] = [];
let seq = 0;

const epOf = (name: string) => `127.0.0.1:${sim.endpoint(name).port}`;
/** "edge": pushed discovery on every proxy but the last, where it is static (that one NACKs pushed endpoints). */
const edge = (pushed: boolean) => ({
  name: "edge",
  discovery: pushed
    ? { type: "pushed", initialEndpoints: [{ address: "127.0.0.1", port: sim.endpoint("c").port }] }
    : { type: "static", endpoints: [{ address: "127.0.0.1", port: sim.endpoint("c").port }] },
  healthCheck: { intervalMs: 60_000 },
});

async function writeDecision(d: Partial<Decision> & Pick<Decision, "kind">): Promise<Decision> {
  const decision: Decision = {
    apiVersion: "meshtune.io/decision/v1alpha1",
    id: `${prefix}-d${++seq}`,
    cluster: CLUSTER,
    rule: "warmup-failure-fleet-eject",
    reason: "warm-up health check failed on 1 proxy",
    inputs: { proxies: 1 },
    before: { ejected: false },
    after: { ejected: true },
    dryRun: false,
    decidedAt: new Date().toISOString(),
    ...d,
  };
  // What the engine does (issue #10 contract): XADD field `d`, then announce the cluster.
  await redis.xadd(keys.decisions(decision.cluster), "*", "d", JSON.stringify(decision));
  await redis.sadd(keys.clusters(), decision.cluster);
  await redis.publish(redisChannels(prefix).decisions(), decision.cluster);
  return decision;
}

/** Commits a version signed with the fleet's key straight through the store (an operator with the key). */
async function commitRaw(cluster: string, override: ClusterSnapshot["override"]): Promise<number> {
  const store = createSnapshotStore({ redis, prefix });
  const cur = await store.current(cluster);
  if (!cur.ok) throw new Error(cur.error);
  const version = cur.value.version + 1;
  const snap: ClusterSnapshot = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ClusterSnapshot",
    cluster,
    version,
    issuedAt: Date.now(),
    override,
  };
  const r = await store.commit(cluster, {
    baseVersion: cur.value.version,
    snapshot: signSnapshot(snap, parseSigningKeys(KEY)[0]),
  });
  expect(r.ok && r.value.status).toBe("committed");
  await redis.sadd(keys.clusters(), cluster);
  await redis.publish(redisChannels(prefix).config(cluster), String(version));
  return version;
}

const isEjected = async (p: FleetProxy, name: string) =>
  (await endpointsOf(p)).some((e) => e.endpoint === epOf(name) && "ejected_control_plane" in e.flags && !e.available);
const metricsText = async () => (await request(`${adminUrl}/metrics`)).body.text();

beforeAll(async () => {
  redisUrl = await requireRedis();
  const brokers = await requireKafka();
  redis = createRedis(redisUrl, { name: "actuator-test" });
  closer.defer(() => redis.quit());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
  closer.defer(() => sim.close());
  const topic = `meshtune.decisions.test.${prefix}`;
  const admin = await createKafkaAdmin({ brokers, logger: silentLogger() });
  if (!admin.ok) throw new Error(admin.error);
  await admin.value.createTopic(topic, { numPartitions: 3 });
  await admin.value.close();
  const consumer = createKafka({ brokers, logger: silentLogger() }).consumer({
    groupId: randomName("g"),
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  closer.defer(() => consumer.disconnect());
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ev = fromKafkaRecord(message);
      if (ev.ok) events.push(ev.value);
    },
  });
  actuator = await startActuator({
    redisUrl,
    prefix,
    kafkaBrokers: brokers,
    topic,
    controlKey: KEY,
    admin: { port: 0, token: TOKEN },
    settings: { scanIntervalMs: 200, proxyStaleMs: 5_000, nackThreshold: 0.5 },
    logger: silentLogger(),
  });
  closer.add(actuator);
  adminUrl = `http://127.0.0.1:${actuator.adminAddress?.port}`;
  for (let i = 0; i < 4; i++) {
    const p = await startFleetProxy({
      id: `proxy-${i}`,
      sim,
      redisUrl,
      prefix,
      key: KEY,
      extraClusters: [edge(i < 3)],
    });
    fleet.push(closer.add(p));
  }
}, 120_000);

afterAll(() => closer.closeAll());

describe("actuator with a fleet of real proxies", () => {
  it("ejects an endpoint on every proxy from one decision, publishes the event and shows the version converged", async () => {
    const d = await writeDecision({
      kind: "eject",
      endpoint: epOf("b"),
      after: { ejected: true, ejectReason: "fleet:warmup_failed" },
    });
    await waitFor("b ejected on every proxy", async () =>
      (await Promise.all(fleet.map((p) => isEjected(p, "b")))).every(Boolean),
    );
    sim.resetStats();
    for (const p of fleet) expect(new Set(await send(p, 12))).toEqual(new Set([200]));
    expect(sim.stats().b?.requests).toBe(0);

    await waitFor(
      "the decision and converged events on Kafka",
      () => events.some((e) => e.id === d.id) && events.some((e) => e.type === "io.meshtune.config.converged.v1"),
    );
    const decided = events.find((e) => e.id === d.id);
    expect(decided).toMatchObject({ subject: CLUSTER, type: "io.meshtune.decision.v1", data: { configVersion: 1 } });
    const text = await metricsText();
    expect(text).toContain(`meshtune_actuator_version_converged{cluster="${CLUSTER}"} 1`);
    expect(text).toMatch(new RegExp(`meshtune_actuator_convergence_seconds_count\\{cluster="${CLUSTER}"\\} 1`));
    const [status] = await readStatus(redis, { prefix, clusters: [CLUSTER] });
    expect(status).toMatchObject({ version: 1, ejected: [{ endpoint: epOf("b"), reason: "fleet:warmup_failed" }] });
    expect(status?.convergence?.state).toBe("converged");
    expect(status?.convergence?.acked).toEqual(fleet.map((p) => p.id).sort());
  });

  it("a proxy started after the decision converges from the stored snapshot", async () => {
    const late = await startFleetProxy({
      id: "proxy-late",
      sim,
      redisUrl,
      prefix,
      key: KEY,
      extraClusters: [edge(false)],
    });
    fleet.push(closer.add(late));
    // startControlClient read the stored snapshot before it returned.
    expect(await isEjected(late, "b")).toBe(true);
    expect(late.control.state()[CLUSTER]?.version).toBe(1);
  });

  it("refuses forged and unsigned snapshots written straight into Redis and keeps the last good state", async () => {
    const snap: ClusterSnapshot = {
      apiVersion: CONFIG_API_VERSION,
      kind: "ClusterSnapshot",
      cluster: CLUSTER,
      version: 99,
      issuedAt: Date.now(),
      override: { endpointOverrides: {} },
    };
    const forged = signSnapshot(snap, { id: "k1", secret: Buffer.from("someone else's key") });
    await redis.set(keys.snapshot(CLUSTER), JSON.stringify(forged));
    await redis.publish(redisChannels(prefix).config(CLUSTER), "99");
    await waitFor("every proxy refused the forged snapshot", () =>
      fleet.every((p) => (p.control.refusals().bad_signature ?? 0) >= 1),
    );
    await redis.set(keys.snapshot(CLUSTER), JSON.stringify(signSnapshot(snap, undefined)));
    await redis.publish(redisChannels(prefix).config(CLUSTER), "99");
    await waitFor("every proxy refused the unsigned snapshot", () =>
      fleet.every((p) => (p.control.refusals().unsigned ?? 0) >= 1),
    );
    for (const p of fleet) {
      expect(await isEjected(p, "b")).toBe(true);
      expect(p.control.state()[CLUSTER]?.version).toBe(1);
    }
    // The actuator never builds on what it cannot verify: the next decision starts from version 1.
    await writeDecision({ kind: "set_weight", endpoint: epOf("a"), after: { weight: 300 } });
    await waitFor("version 2 applied everywhere", () => fleet.every((p) => p.control.state()[CLUSTER]?.version === 2));
    for (const p of fleet) expect(await isEjected(p, "b")).toBe(true);
  });

  it("a NACK below the threshold keeps that proxy's last good state and rolls nothing back", async () => {
    const v = await commitRaw("edge", {
      endpointOverrides: {},
      endpoints: [{ address: "127.0.0.1", port: sim.endpoint("a").port, weight: 1 }],
    });
    const nackers = fleet.filter((p) => p.id === "proxy-3" || p.id === "proxy-late");
    await waitFor(
      "answers from every proxy",
      async () => (await redis.hlen(keys.convergence("edge", v))) >= fleet.length,
    );
    await actuator.poke("edge");
    const [status] = await readStatus(redis, { prefix, clusters: ["edge"] });
    expect(status?.version).toBe(v);
    expect(status?.convergence?.nacked.map((n) => n.proxyId).sort()).toEqual(nackers.map((p) => p.id).sort());
    expect(status?.convergence?.state).toBe("failed");
    for (const p of nackers) {
      expect(p.control.state().edge).toMatchObject({ version: 0, nackedVersion: v });
      const eps = await endpointsOf(p, "edge");
      expect(eps.map((e) => e.endpoint)).toEqual([epOf("c")]);
    }
  });

  it("rolls back to the previous version when NACKs pass the threshold, and says so", async () => {
    const bad = await commitRaw(CLUSTER, {
      endpointOverrides: {},
      endpoints: [{ address: "127.0.0.1", port: sim.endpoint("a").port, weight: 1 }],
    });
    await waitFor("the rollback version applied everywhere", () =>
      fleet.every((p) => (p.control.state()[CLUSTER]?.version ?? 0) === bad + 1),
    );
    for (const p of fleet) expect(await isEjected(p, "b")).toBe(true);
    await waitFor("the rolled-back event on Kafka", () =>
      events.some((e) => e.type === "io.meshtune.config.rolledback.v1"),
    );
    const ev = events.find((e) => e.type === "io.meshtune.config.rolledback.v1");
    expect(ev?.data).toMatchObject({ badVersion: bad, version: bad + 1, restoredVersion: bad - 1, nackShare: 1 });
    const [status] = await readStatus(redis, { prefix, clusters: [CLUSTER] });
    expect(status).toMatchObject({ version: bad + 1, rollbackOf: bad - 1 });
    await waitFor("the rollback version converged", async () =>
      (await metricsText()).includes("meshtune_actuator_rollbacks_total"),
    );
    expect(await metricsText()).toContain(`meshtune_actuator_rollbacks_total{cluster="${CLUSTER}"} 1`);
  });

  it("tuned pool limits from a decision reach every proxy's pools", async () => {
    await writeDecision({
      kind: "set_pool_limits",
      endpoint: undefined,
      after: { maxConnectionsPerEndpoint: 7, maxPendingRequests: 9 },
    });
    const limits = async (p: FleetProxy) =>
      (await endpointsOf(p)).map((e) => (e as { pool?: { maxConnections?: number } }).pool?.maxConnections);
    await waitFor("maxConnections 7 on every proxy", async () =>
      (await Promise.all(fleet.map(limits))).every((l) => l.length > 0 && l.every((m) => m === 7)),
    );
    for (const p of fleet) expect(await isEjected(p, "b")).toBe(true);
  });

  it("admin API: reads are open, writes need the bearer token and land in the engine's hashes", async () => {
    const cluster = (await (await request(`${adminUrl}/clusters/${CLUSTER}`)).body.json()) as { version: number };
    expect(cluster.version).toBeGreaterThanOrEqual(4);
    const pin = JSON.stringify({ weight: 10, reason: "canary" });
    const url = `${adminUrl}/clusters/${CLUSTER}/pins/${encodeURIComponent(epOf("a"))}`;
    expect((await request(url, { method: "PUT", body: pin })).statusCode).toBe(401);
    const bad = { authorization: "Bearer nope" };
    expect((await request(url, { method: "PUT", body: pin, headers: bad })).statusCode).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await request(url, { method: "PUT", body: pin, headers: auth })).statusCode).toBe(200);
    expect(JSON.parse((await redis.hget(keys.pins(CLUSTER), epOf("a"))) ?? "{}")).toMatchObject({ weight: 10 });
    const dry = await request(`${adminUrl}/settings`, { method: "PUT", body: '{"dryRun":true}', headers: auth });
    expect(dry.statusCode).toBe(200);
    expect(await redis.hget(keys.globalSettings(), "dryRun")).toBe("true");
    const kill = await request(`${adminUrl}/clusters/${CLUSTER}/settings`, {
      method: "PUT",
      body: '{"killSwitch":true}',
      headers: auth,
    });
    expect(kill.statusCode).toBe(200);
    expect(await redis.hget(keys.settings(CLUSTER), "killSwitch")).toBe("true");
    expect((await request(url, { method: "DELETE", headers: auth })).statusCode).toBe(200);
    expect(await redis.hget(keys.pins(CLUSTER), epOf("a"))).toBeNull();
  });
});
