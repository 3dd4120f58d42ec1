/**
 * Hostile control snapshots written straight into Redis (issue #14): an attacker with write
 * access to Redis but without the fleet's signing key stores forged, unsigned, tampered,
 * unknown-key and other-cluster snapshots, and replays an older, validly signed one. Two real
 * `meshtune proxy` processes refuse every one (a 5 MiB one without reading it), count each in
 * meshtune_proxy_control_snapshots_refused_total{reason}, ignore the replay, and keep serving on
 * the last good snapshot.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, createSnapshotStore, parseSigningKeys, type Redis, signSnapshot } from "@meshtune/adapters";
import {
  type ClusterOverride,
  type ClusterSnapshot,
  CONFIG_API_VERSION,
  PROXY_METRICS,
  redisChannels,
  redisKeys,
  type SignedSnapshot,
} from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireRedis } from "../packages/adapters/test/services.js";
import { isEjected, metricSum, type ProxyProc, scrape, startProxyProc, stopProc, Traffic } from "./faults.js";
import { Closer, waitFor } from "./helpers.js";

const KEY = "k1:9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const CLUSTER = "api";
const prefix = `mt-sec-snap-${randomUUID().slice(0, 8)}`;
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-sec-snap-"));
let redis: Redis;
let sim: Simulator;
const fleet: ProxyProc[] = [];

const ep = (name: string) => `127.0.0.1:${sim.endpoint(name).port}`;
const snapshot = (version: number, override: ClusterOverride, cluster = CLUSTER): ClusterSnapshot => ({
  apiVersion: CONFIG_API_VERSION,
  kind: "ClusterSnapshot",
  cluster,
  version,
  issuedAt: Date.now(),
  override,
});

async function commit(override: ClusterOverride): Promise<SignedSnapshot> {
  const store = createSnapshotStore({ redis, prefix });
  const cur = await store.current(CLUSTER);
  if (!cur.ok) throw new Error(cur.error);
  const signed = signSnapshot(snapshot(cur.value.version + 1, override), parseSigningKeys(KEY)[0]);
  const r = await store.commit(CLUSTER, { baseVersion: cur.value.version, snapshot: signed });
  expect(r.ok && r.value.status).toBe("committed");
  await redis.publish(redisChannels(prefix).config(CLUSTER), String(cur.value.version + 1));
  return signed;
}

/** What an attacker with Redis access but no key can do: SET the snapshot key and announce it. */
async function plant(raw: string): Promise<void> {
  await redis.set(redisKeys(prefix).snapshot(CLUSTER), raw);
  await redis.publish(redisChannels(prefix).config(CLUSTER), "999");
}

const refused = async (p: ProxyProc, reason: string) =>
  metricSum(await scrape(`http://127.0.0.1:${p.admin}/metrics`), PROXY_METRICS.controlRefused.name, { reason });

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  redis = createRedis(await requireRedis(), { name: "sec-snapshots-test" });
  closer.defer(() => redis.quit());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
  closer.defer(() => sim.close());
});
afterAll(() => closer.closeAll(), 60_000);

it("forged, unsigned, tampered, unknown-key, other-cluster and replayed snapshots: refused, counted, not applied", async () => {
  const v1 = await commit({ endpointOverrides: { [ep("b")]: { ejected: true } } });
  for (const id of ["s1", "s2"]) {
    const p = await startProxyProc({
      id,
      dir,
      sim,
      cluster: CLUSTER,
      redisUrl: process.env.REDIS_URL,
      prefix,
      controlKey: KEY,
      otlp: "http://127.0.0.1:9", // nothing listens: /metrics is what this test reads
    });
    closer.defer(() => stopProc(p.child));
    fleet.push(p);
  }
  await commit({ endpointOverrides: { [ep("b")]: { ejected: true }, [ep("c")]: { ejected: true } } });
  const bothEjected = async () =>
    (await Promise.all(fleet.flatMap((p) => [isEjected(p, CLUSTER, ep("b")), isEjected(p, CLUSTER, ep("c"))]))).every(
      (v) => v === true,
    );
  await waitFor("v2 applied everywhere", bothEjected, 15_000);

  // Every hostile snapshot would un-eject b and c if a proxy applied it.
  const open = snapshot(50, { endpointOverrides: {} });
  const valid = signSnapshot(open, parseSigningKeys(KEY)[0]);
  const cases: Array<[reason: string, raw: string]> = [
    ["bad_signature", JSON.stringify(signSnapshot(open, { id: "k1", secret: Buffer.from("not the fleet's key") }))],
    ["unsigned", JSON.stringify(signSnapshot(open, undefined))],
    ["bad_signature", JSON.stringify({ ...valid, payload: valid.payload.replace('"version":50', '"version":51') })],
    ["unknown_key", JSON.stringify(signSnapshot(open, { id: "k9", secret: Buffer.from("x") }))],
    [
      "wrong_cluster",
      JSON.stringify(signSnapshot(snapshot(52, { endpointOverrides: {} }, "other"), parseSigningKeys(KEY)[0])),
    ],
    ["malformed", "{not json"],
    ["malformed", "x".repeat(5 * 1024 * 1024)], // over the 4 MiB limit: refused unread
  ];
  const traffic = new Traffic(() => fleet.map((p) => p.listener), 50);
  closer.defer(() => traffic.stop());
  sim.resetStats();
  for (const [reason, raw] of cases) {
    const before = await Promise.all(fleet.map((p) => refused(p, reason)));
    await plant(raw);
    await waitFor(
      `every proxy refuses and counts the ${reason} snapshot`,
      async () =>
        (await Promise.all(fleet.map((p, i) => refused(p, reason).then((n) => n > before[i]!)))).every(Boolean),
      10_000,
    );
  }
  // A replay of the validly signed, older v1 (it ejects b only): ignored, c stays ejected.
  await plant(JSON.stringify(v1));
  await new Promise((r) => setTimeout(r, 1_500)); // three periodic checks
  expect(await bothEjected()).toBe(true);
  await traffic.stop();
  expect(traffic.failures).toEqual([]);
  expect(sim.stats().b?.requests ?? 0).toBe(0);
  expect(sim.stats().c?.requests ?? 0).toBe(0);
  for (const p of fleet) expect(p.stderr()).not.toContain(KEY.split(":")[1]);
}, 60_000);
