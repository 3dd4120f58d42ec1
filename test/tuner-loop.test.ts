/**
 * The closed loop across every tuner component, with real processes and services (issues #9,
 * #10, #11): real `meshtune proxy` processes export to the one-process tuner (collector →
 * BullMQ → engine → decision stream → actuator) on real Redis, and decision events go to a real
 * Kafka broker. One endpoint fails its warm-up on ONE proxy (the one that starts after it went
 * bad); the proxies that never saw it fail stop sending to it, the ejection event reaches a
 * Kafka consumer, and the actuator's metrics show the version converged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka, fromKafkaRecord, silentLogger } from "@meshtune/adapters";
import { startTuner, type Tuner } from "@meshtune/cli";
import {
  CONFIG_API_VERSION,
  type Decision,
  KAFKA_TOPICS,
  type MeshtuneEvent,
  TUNER_METRICS,
} from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Closer, freePort, stopChild, waitFor } from "./helpers.js";

const CLI = fileURLToPath(new URL("../services/cli/dist/main.js", import.meta.url));
const cluster = `loop-${randomUUID().slice(0, 8)}`;
const prefix = `mt-test-${randomUUID().slice(0, 8)}`;
const controlKey = `k1:${randomUUID().replaceAll("-", "")}`;
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-loop-"));
const events: MeshtuneEvent[] = [];
let sim: Simulator;
let tuner: Tuner;

interface Proc {
  id: string;
  listener: number;
  admin: number;
  child: ChildProcess;
}

async function startProxy(id: string): Promise<Proc> {
  const [listener, admin] = [await freePort(), await freePort()];
  const file = join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: CONFIG_API_VERSION,
      kind: "ProxyConfig",
      proxy: { listener: { port: listener }, admin: { port: admin }, drainTimeoutMs: 1000 },
      routes: [{ match: { host: "*" }, cluster }],
      clusters: [
        {
          name: cluster,
          discovery: { type: "static", endpoints: sim.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })) },
          lb: { policy: "round_robin" },
          pool: { minWarm: 1, connectTimeoutMs: 300 },
          warmup: { deadlineMs: 1500 },
          // Long interval: the proxies that started before the fault must learn it from the tuner.
          healthCheck: { intervalMs: 60_000, timeoutMs: 300 },
          outlier: { maxEjectionPercent: 50 },
        },
      ],
    }),
  );
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--config",
      file,
      "--id",
      id,
      "--log-level",
      "warn",
      "--otlp-endpoint",
      tuner.collectorUrl,
      "--metrics-interval-ms",
      "500",
      "--redis-url",
      process.env.REDIS_URL!,
      "--redis-prefix",
      prefix,
      "--control-key",
      controlKey,
      "--control-check-interval-ms",
      "500",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  closer.defer(() => stopChild(child));
  await waitFor(`proxy ${id} ready`, async () => {
    try {
      const res = await request(`http://127.0.0.1:${admin}/ready`);
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  });
  return { id, listener, admin, child };
}

async function flagsOf(p: Proc, endpoint: string): Promise<Record<string, unknown> | undefined> {
  const res = await request(`http://127.0.0.1:${p.admin}/clusters`);
  const body = (await res.body.json()) as {
    clusters: Array<{ name: string; endpoints: Array<{ endpoint: string; flags: Record<string, unknown> }> }>;
  };
  return body.clusters.find((c) => c.name === cluster)?.endpoints.find((e) => e.endpoint === endpoint)?.flags;
}

beforeAll(async () => {
  const brokers = process.env.KAFKA_BROKERS;
  const redisUrl = process.env.REDIS_URL;
  if (!brokers || !redisUrl) throw new Error("REDIS_URL and KAFKA_BROKERS must be set (run through ./dev test)");
  sim = await startSimulatorWith(["ep1", "ep2", "ep3", "ep4"].map((name) => ({ name })));
  closer.defer(() => sim.close());
  tuner = await startTuner({
    redisUrl,
    prefix,
    kafkaBrokers: brokers,
    controlKey,
    logLevel: "warn",
    evaluationIntervalMs: 500,
  });
  closer.defer(() => tuner.close());
  const consumer = createKafka({ brokers, logger: silentLogger() }).consumer({ groupId: `loop-${randomUUID()}` });
  await consumer.connect();
  closer.defer(() => consumer.disconnect());
  await consumer.subscribe({ topics: [KAFKA_TOPICS.decisions], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ev = fromKafkaRecord(message);
      if (ev.ok && message.key?.toString() === cluster) events.push(ev.value);
    },
  });
}, 60_000);

afterAll(() => closer.closeAll(), 60_000);

describe("the tuner's closed loop", () => {
  it("one proxy's warm-up failure ejects the endpoint on every proxy, on Kafka, converged", async () => {
    const early = [await startProxy("early-1"), await startProxy("early-2")];
    const bad = `127.0.0.1:${sim.endpoint("ep2").port}`;
    expect(await flagsOf(early[0]!, bad)).toEqual({});

    await sim.endpoint("ep2").setFaults({ blackHole: true });
    await startProxy("late-3"); // its warm-up meets the black hole; the early ones never try

    for (const p of early) {
      await waitFor(
        `${p.id} applies the fleet-wide ejection of ep2`,
        async () => {
          const flags = await flagsOf(p, bad);
          return flags !== undefined && "ejected_control_plane" in flags;
        },
        20_000,
      );
    }
    // The early proxies now keep every request off ep2 (a request sent there would hang).
    sim.resetStats();
    for (let i = 0; i < 20; i++) {
      const res = await request(`http://127.0.0.1:${early[0]!.listener}/x`, { headers: { host: "api" } });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
    expect(sim.stats().ep2?.requests ?? 0).toBe(0);

    await waitFor(
      "the ejection event on Kafka",
      () =>
        events.some((e) => {
          const d = e.data as Partial<Decision>;
          return d.kind === "eject" && d.endpoint === bad && d.dryRun === false;
        }),
      20_000,
    );
    await waitFor(
      "the snapshot version converged across the fleet",
      async () => {
        const res = await request(`${tuner.actuatorAdminUrl}/metrics`);
        const text = await res.body.text();
        return new RegExp(`${TUNER_METRICS.actuatorConverged.name}\\{[^}]*cluster="${cluster}"[^}]*\\} 1`).test(text);
      },
      20_000,
    );
  }, 90_000);
});
