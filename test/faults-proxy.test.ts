/**
 * Proxy process faults under load (issue #14), three real `meshtune proxy` processes following
 * signed snapshots in Redis, with a 150 ms upstream so requests are always in flight:
 * - SIGKILL of one proxy: the others serve every request;
 * - that proxy restarted while the snapshot moved on: the first time /ready says 200 it already
 *   applies the current snapshot (never the file config alone);
 * - SIGTERM of a proxy under load: every request it had in flight completes, exit 0.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, createSnapshotStore, parseSigningKeys, type Redis, signSnapshot } from "@meshtune/adapters";
import { type ClusterOverride, type ClusterSnapshot, CONFIG_API_VERSION, redisChannels } from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireRedis } from "../packages/adapters/test/services.js";
import { isEjected, isReady, type ProxyProc, startProxyProc, stopProc, Traffic } from "./faults.js";
import { Closer, waitFor } from "./helpers.js";

const KEY = "k1:0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const CLUSTER = "api";
const prefix = `mt-fault-proxy-${randomUUID().slice(0, 8)}`;
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-fault-proxy-"));
let redisUrl: string;
let redis: Redis;
let sim: Simulator;

const ep = (name: string) => `127.0.0.1:${sim.endpoint(name).port}`;

async function commit(override: ClusterOverride): Promise<number> {
  const store = createSnapshotStore({ redis, prefix });
  const cur = await store.current(CLUSTER);
  if (!cur.ok) throw new Error(cur.error);
  const snap: ClusterSnapshot = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ClusterSnapshot",
    cluster: CLUSTER,
    version: cur.value.version + 1,
    issuedAt: Date.now(),
    override,
  };
  const r = await store.commit(CLUSTER, {
    baseVersion: cur.value.version,
    snapshot: signSnapshot(snap, parseSigningKeys(KEY)[0]),
  });
  expect(r.ok && r.value.status).toBe("committed");
  await redis.publish(redisChannels(prefix).config(CLUSTER), String(snap.version));
  return snap.version;
}

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  redisUrl = await requireRedis();
  redis = createRedis(redisUrl, { name: "fault-proxy-test" });
  closer.defer(() => redis.quit());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
  closer.defer(() => sim.close());
});
afterAll(() => closer.closeAll(), 60_000);

const start = (id: string, o: { ports?: { listener: number; admin: number }; waitReady?: boolean } = {}) =>
  startProxyProc({ id, dir, sim, cluster: CLUSTER, redisUrl, prefix, controlKey: KEY, ...o });

it("SIGKILL spares the others, a restart is current before /ready, SIGTERM under load loses nothing", async () => {
  await commit({ endpointOverrides: { [ep("b")]: { ejected: true } } });
  const fleet = await Promise.all(["p1", "p2", "p3"].map((id) => start(id)));
  for (const p of fleet) closer.defer(() => stopProc(p.child, "SIGKILL"));
  for (const p of fleet) expect(await isEjected(p, CLUSTER, ep("b"))).toBe(true);
  const [p1, p2, p3] = fleet as [ProxyProc, ProxyProc, ProxyProc];
  for (const name of ["a", "b", "c"]) await sim.endpoint(name).setFaults({ latency: { dist: "fixed", ms: 150 } });

  let targets = [p1.listener, p2.listener, p3.listener];
  const traffic = new Traffic(() => targets, 40);
  closer.defer(() => traffic.stop());
  await new Promise((r) => setTimeout(r, 1_000));

  // SIGKILL p3 (its app stops sending to it at once; what it had in flight is lost with it).
  expect(traffic.failures).toEqual([]);
  targets = [p1.listener, p2.listener];
  await stopProc(p3.child, "SIGKILL");
  await new Promise((r) => setTimeout(r, 500));
  const lostWithP3 = traffic.failures.splice(0);
  for (const f of lostWithP3) expect(f.startsWith(`:${p3.listener} `)).toBe(true);
  const v2 = await commit({ endpointOverrides: { [ep("b")]: { ejected: true }, [ep("c")]: { ejected: true } } });
  await new Promise((r) => setTimeout(r, 1_000));

  // p3 restarts on its ports while the fleet is on v2: the first 200 on /ready must already show v2.
  const again = await start("p3", { ports: { listener: p3.listener, admin: p3.admin }, waitReady: false });
  closer.defer(() => stopProc(again.child, "SIGKILL"));
  const startedAt = Date.now();
  await waitFor("the restarted p3 ready", async () => (await isReady(again)) === true, 20_000);
  const readyMs = Date.now() - startedAt;
  expect(await isEjected(again, CLUSTER, ep("c")), `v${v2} applied when /ready first said 200`).toBe(true);
  console.info(`[faults-proxy] restarted proxy ready (current snapshot v${v2} applied) after ${readyMs} ms`);
  targets = [p1.listener, p2.listener, again.listener];
  await new Promise((r) => setTimeout(r, 1_000));

  // SIGTERM p1 under load: the app stops sending new requests; those in flight finish.
  const sentBefore = traffic.sent;
  targets = [p2.listener, again.listener];
  const code = await stopProc(p1.child, "SIGTERM");
  expect(code).toBe(0);
  await new Promise((r) => setTimeout(r, 500));
  await traffic.stop();
  const others = traffic.failures;
  console.info(
    `[faults-proxy] requests ${traffic.sent} (${sentBefore} before SIGTERM), failed ${others.length}, in flight on the SIGKILLed proxy ${lostWithP3.length}`,
  );
  expect(others).toEqual([]);
  expect(p2.child.exitCode).toBeNull();
}, 60_000);
