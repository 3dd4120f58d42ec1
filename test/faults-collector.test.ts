/**
 * Collector down (issue #14): two real proxy processes export traces (every request sampled)
 * and metrics to a collector address where nothing listens. They serve every request; their
 * bounded export queues drop and count what they cannot send; their memory stays bounded. When
 * a collector starts on that address, per-endpoint windows in Redis resume.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, type Redis } from "@meshtune/adapters";
import { startTuner } from "@meshtune/cli";
import { PROXY_METRICS, redisKeys } from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireRedis } from "../packages/adapters/test/services.js";
import { metricSum, type ProxyProc, scrape, startProxyProc, stopProc, Traffic } from "./faults.js";
import { Closer, freePort, waitFor } from "./helpers.js";

const CLUSTER = "api";
const prefix = `mt-fault-coll-${randomUUID().slice(0, 8)}`;
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-fault-coll-"));
let redisUrl: string;
let redis: Redis;
let sim: Simulator;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  redisUrl = await requireRedis();
  redis = createRedis(redisUrl, { name: "fault-collector-test" });
  closer.defer(() => redis.quit());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }]);
  closer.defer(() => sim.close());
});
afterAll(() => closer.closeAll(), 60_000);

it("proxies are unaffected while the collector is down, count their drops, and windows resume when it returns", async () => {
  const port = await freePort();
  const otlp = `http://127.0.0.1:${port}`;
  const fleet: ProxyProc[] = [];
  for (const id of ["c1", "c2"]) {
    const p = await startProxyProc({ id, dir, sim, cluster: CLUSTER, otlp, extraArgs: ["--trace-sample-ratio", "1"] });
    closer.defer(() => stopProc(p.child));
    fleet.push(p);
  }
  const traffic = new Traffic(() => fleet.map((p) => p.listener), 20);
  closer.defer(() => traffic.stop());
  const rss0 = fleet.map((p) => rssMiB(p.child.pid!));
  const dropped = async (p: ProxyProc) =>
    metricSum(await scrape(`http://127.0.0.1:${p.admin}/metrics`), PROXY_METRICS.telemetryDropped.name, {
      signal: "traces",
    });
  await waitFor(
    "every proxy counts dropped spans",
    async () => (await Promise.all(fleet.map(dropped))).every((n) => n > 0),
    30_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  const rss1 = fleet.map((p) => rssMiB(p.child.pid!));
  const drops = await Promise.all(fleet.map(dropped));
  console.info(
    `[faults-collector] collector down: ${traffic.sent} requests, ${traffic.failures.length} failed; spans dropped ${drops.join(", ")}; RSS MiB ${rss0.map(Math.round).join(",")} -> ${rss1.map(Math.round).join(",")}`,
  );
  expect(traffic.failures).toEqual([]);
  for (const mib of rss1) expect(mib).toBeLessThan(256);

  const tuner = await startTuner({ redisUrl, prefix, collector: { port }, logLevel: "silent" });
  closer.defer(() => tuner.close());
  const back = Date.now();
  await waitFor(
    "windows in Redis again",
    async () => {
      const s = Math.floor(Date.now() / 1000);
      const found = await Promise.all(
        [s, s - 1, s - 2].map((t) => redis.exists(redisKeys(prefix).windowBucket(CLUSTER, t))),
      );
      return found.some((n) => n > 0);
    },
    20_000,
  );
  console.info(`[faults-collector] windows resumed ${Date.now() - back} ms after the collector started`);
  await traffic.stop();
  expect(traffic.failures).toEqual([]);
  expect(traffic.ok).toBe(traffic.sent);
}, 60_000);
