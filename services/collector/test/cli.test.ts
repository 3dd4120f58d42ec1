/**
 * `meshtune collector` as an operator runs it: --help names every flag and variable it reads,
 * bad flags exit 2, and a running collector on SIGTERM finishes and exits 0. Also the collector
 * against a three-node Redis Cluster (redis+cluster:// URL): windows and BullMQ jobs work there.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  createEvaluationQueue,
  createRedisCluster,
  evaluationJobId,
  type Redis,
  readClusterWindows,
  silentLogger,
} from "@meshtune/adapters";
import { freePort, startRedisCluster } from "@meshtune/testkit";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it, vi } from "vitest";
import { COLLECTOR_ENV, COLLECTOR_HELP, runCollector, startCollector } from "../src/index.js";
import { attemptsMetric, metricsRequest } from "./payloads.js";
import { Closer, randomName, requireRedis, waitFor } from "./services.js";

const MAIN = fileURLToPath(new URL("./fixtures/collector-main.mjs", import.meta.url));
const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);
const client = new Agent({ connections: 4 });
closer.defer(() => client.close());

describe("meshtune collector (CLI)", () => {
  it("--help tells every flag and environment variable; bad flags exit 2", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await runCollector(["--help"])).toBe(0);
      expect(log).toHaveBeenCalledWith(COLLECTOR_HELP);
      for (const flag of [
        "--address",
        "--redis-url",
        "--prefix",
        "--horizon-sec",
        "--evaluation-interval-ms",
        "--max-body-bytes",
        "--max-concurrent",
        "--max-inflight-bytes",
        "--log-level",
      ])
        expect(COLLECTOR_HELP).toContain(flag);
      for (const v of Object.values(COLLECTOR_ENV)) expect(COLLECTOR_HELP).toContain(v);
      expect(await runCollector(["--bogus"])).toBe(2);
      expect(await runCollector(["--horizon-sec", "10"])).toBe(2);
      expect(await runCollector(["--address", "nope"])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/horizon-sec must be an integer ≥ 60/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  it("serves until SIGTERM, then drains and exits 0", async () => {
    const url = await requireRedis();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        MAIN,
        "--address",
        `127.0.0.1:${port}`,
        "--redis-url",
        url,
        "--prefix",
        randomName("cli"),
        "--log-level",
        "warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    closer.defer(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await waitFor("the collector to be ready", async () => {
      try {
        const r = await request(`http://127.0.0.1:${port}/ready`, { dispatcher: client });
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("collector on a three-node Redis Cluster", () => {
  it("stores windows and enqueues evaluations through a redis+cluster:// URL", async () => {
    const cluster = await startRedisCluster({ nodes: 3 });
    closer.defer(() => cluster.stop());
    const prefix = randomName("rc");
    const seeds = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",");
    const c = await startCollector({
      host: "127.0.0.1",
      port: 0,
      redis: `redis+cluster://${seeds}`,
      prefix,
      evaluationIntervalMs: 200,
      logger: silentLogger(),
      processMetrics: false,
    });
    closer.defer(() => c.close());
    const now = Date.now();
    const body = metricsRequest("pc", [
      attemptsMetric([
        {
          cluster: "rc",
          endpoint: "10.3.3.3:80",
          statusClass: "5xx",
          value: 3,
          startMs: now - 2_000,
          timeMs: now - 1_000,
        },
      ]),
    ]);
    const res = await request(`${c.url}/v1/metrics`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      dispatcher: client,
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const posted = Date.now();

    const redis = createRedisCluster(cluster.nodes);
    closer.defer(() => redis.quit());
    const w = await readClusterWindows(redis, { cluster: "rc", at: Date.now() + 1_000, prefix });
    if (!w.ok) throw new Error(w.error);
    expect(w.value.views.short[0]).toMatchObject({ attempts: { "5xx": 3 }, failuresByProxy: { pc: 3 } });

    // The interval job: `at` is the end of the interval the data arrived in (200 ms boundaries).
    const queue = createEvaluationQueue({ connection: redis as unknown as Redis, prefix });
    closer.add(queue);
    const boundaries = Array.from({ length: 20 }, (_, i) => (Math.floor(posted / 200) + i) * 200);
    await waitFor("an interval evaluation job", async () => {
      for (const at of boundaries) {
        const state = await queue.state(evaluationJobId({ cluster: "rc", at: new Date(at).toISOString() }));
        if (state !== "unknown") return true;
      }
      return false;
    });
  });
});
