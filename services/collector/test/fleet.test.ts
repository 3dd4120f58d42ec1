/**
 * "Done when" (issue #9): a fleet of real proxies (`meshtune proxy` processes with the real OTLP
 * protobuf exporters) exports to two real collector replicas with real Redis — half the proxies
 * to each — and one proxy restarts in the middle (same instance id, new start time, now
 * exporting to the other replica). The windows' counts equal the requests the test sent, per
 * endpoint and status class; a warm-up failure arrives as a stored fast signal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRedis, readClusterWindows, silentLogger } from "@meshtune/adapters";
import { ATTR, CONFIG_API_VERSION, redisKeys, type SimConfigInput } from "@meshtune/contracts";
import { freePort, type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "../src/index.js";
import { Closer, randomName, requireRedis, waitFor } from "./services.js";

const PROXY_MAIN = fileURLToPath(new URL("./fixtures/proxy-main.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "meshtune-collector-fleet-"));
const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);
closer.defer(() => rmSync(dir, { recursive: true, force: true }));
const client = new Agent({ connections: 32 });
closer.defer(() => client.close());

interface Fleet {
  child: ChildProcess;
  exited: Promise<number | null>;
  port: number;
}

async function startProxy(id: string, collector: RunningCollector, sim: Simulator): Promise<Fleet> {
  const [port, admin] = [await freePort(), await freePort()];
  const cluster = (name: string) => ({
    name,
    discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: sim.endpoint(name).port }] },
    pool: { minWarm: 1 },
    warmup: { deadlineMs: 1_000 },
    healthCheck: { intervalMs: 60_000, timeoutMs: 300 },
    outlier: { enabled: false },
    retry: { maxRetries: 0 },
  });
  const cfg = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: { listener: { port }, admin: { port: admin }, drainTimeoutMs: 1_000 },
    clusters: [cluster("ok"), cluster("flaky"), cluster("hole")],
    routes: [
      { match: { host: "ok.test" }, cluster: "ok" },
      { match: { host: "flaky.test" }, cluster: "flaky" },
    ],
  };
  const file = join(dir, `${id}-${port}.yaml`);
  writeFileSync(file, JSON.stringify(cfg)); // JSON is YAML
  // biome-ignore format: flag/value pairs
  const args = [PROXY_MAIN, "--config", file, "--id", id, "--otlp-endpoint", collector.url,
    "--metrics-interval-ms", "200", "--trace-sample-ratio", "0", "--log-level", "error", "--no-watch"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  closer.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  await waitFor(
    `proxy ${id} ready`,
    async () => {
      if (child.exitCode !== null) throw new Error(`proxy ${id} exited ${child.exitCode}: ${stderr}`);
      try {
        const r = await request(`http://127.0.0.1:${admin}/ready`, { dispatcher: client });
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    },
    15_000,
  );
  return { child, exited, port };
}

/** SIGTERM: the proxy drains, exports its final cumulative values and exits 0. */
async function stopProxy(f: Fleet): Promise<void> {
  f.child.kill("SIGTERM");
  expect(await f.exited).toBe(0);
}

/** Proxy-generated answers (`x-meshtune-error`) that still were an upstream attempt, with no response. */
const ATTEMPT_ERRORS = new Set(["upstream_timeout", "upstream_reset", "upstream_protocol_error"]);

/**
 * Sends `n` requests to `host` through the proxy and tallies the upstream attempts they were:
 * the upstream's status class, `error` for an attempt without a response, `none` for a request
 * the proxy answered itself without an attempt (e.g. admission control on a saturated machine).
 */
async function send(f: Fleet, host: string, n: number, tally: Map<string, number>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`http://127.0.0.1:${f.port}/x`, { headers: { host }, dispatcher: client });
    await res.body.text();
    const cause = res.headers["x-meshtune-error"];
    const cls =
      cause === undefined
        ? `${Math.floor(res.statusCode / 100)}xx`
        : ATTEMPT_ERRORS.has(String(cause))
          ? "error"
          : "none";
    const key = `${host}|${cls}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
}

describe("fleet -> two collector replicas -> Redis windows", () => {
  it("counts every request once, across replicas and a proxy restart", { timeout: 120_000 }, async () => {
    const url = await requireRedis();
    const prefix = randomName("fleet");
    const endpoints: SimConfigInput["endpoints"] = [
      { name: "ok" },
      { name: "flaky", faults: { errorRate: 0.5, errorStatus: 503 } },
      { name: "hole", faults: { blackHole: true } },
    ];
    const sim = await startSimulatorWith(endpoints);
    closer.defer(() => sim.close());
    const common = {
      host: "127.0.0.1",
      port: 0,
      redis: url,
      prefix,
      evaluationIntervalMs: 500,
      logger: silentLogger(),
    };
    const a = await startCollector(common);
    closer.defer(() => a.close());
    const b = await startCollector({ ...common, processMetrics: false });
    closer.defer(() => b.close());

    const fleet = [
      await startProxy("p0", a, sim),
      await startProxy("p1", a, sim),
      await startProxy("p2", b, sim),
      await startProxy("p3", b, sim),
    ];
    const tally = new Map<string, number>();
    for (const f of fleet) {
      await send(f, "ok.test", 20, tally);
      await send(f, "flaky.test", 20, tally);
    }
    // p1 restarts mid-run: same id, a new start time, exporting to the other replica now.
    await stopProxy(fleet[1]!);
    fleet[1] = await startProxy("p1", b, sim);
    for (const f of fleet) {
      await send(f, "ok.test", 10, tally);
      await send(f, "flaky.test", 10, tally);
    }
    // Every proxy exits cleanly, which flushes its last values.
    for (const f of fleet) await stopProxy(f);

    const redis = createRedis(url);
    closer.defer(() => redis.quit());
    const okEp = `127.0.0.1:${sim.endpoint("ok").port}`;
    const flakyEp = `127.0.0.1:${sim.endpoint("flaky").port}`;
    const holeEp = `127.0.0.1:${sim.endpoint("hole").port}`;
    const attempts = async (cluster: string, endpoint: string) => {
      const w = await readClusterWindows(redis, { cluster, at: Date.now() + 1_000, prefix });
      if (!w.ok) throw new Error(w.error);
      return { w: w.value, ep: w.value.views.long.find((e) => e.endpoint === endpoint) };
    };
    const classes = (host: string) => {
      const out: Record<string, number> = {};
      for (const [k, v] of tally) {
        const [h, cls] = k.split("|");
        if (h === host && cls !== "none") out[cls!] = v;
      }
      return out;
    };
    const expected = { ok: classes("ok.test"), flaky: classes("flaky.test") };
    const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    // 120 requests per host; on a quiet machine every one is an attempt.
    expect(total(expected.ok)).toBeGreaterThan(100);
    expect(expected.flaky["5xx"] ?? 0).toBeGreaterThan(0);
    await waitFor(
      "windows equal to the requests sent",
      async () => {
        const ok = await attempts("ok", okEp);
        const flaky = await attempts("flaky", flakyEp);
        const same = (a: Record<string, number | undefined> | undefined, b: Record<string, number>) =>
          JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());
        return same(ok.ep?.attempts, expected.ok) && same(flaky.ep?.attempts, expected.flaky);
      },
      15_000,
    ).catch(async (err) => {
      const ok = await attempts("ok", okEp);
      const flaky = await attempts("flaky", flakyEp);
      throw new Error(
        `${err.message}: ok ${JSON.stringify(ok.ep?.attempts)} flaky ${JSON.stringify(flaky.ep?.attempts)} expected ${JSON.stringify(expected)}`,
      );
    });
    const ok = await attempts("ok", okEp);
    expect(ok.w.proxiesReporting).toBe(4);
    expect(ok.ep!.latency.count).toBe(total(expected.ok));
    // 5xx attempts count as failures per proxy, each proxy's own (the per-proxy buckets of the
    // last minute; the reader returns them for its 10 s view only, and this run is longer).
    const failures = new Map<string, number>();
    const nowSec = Math.floor(Date.now() / 1000);
    for (let s = nowSec - 60; s <= nowSec + 1; s++) {
      const h = await redis.hgetall(redisKeys(prefix).windowProxyBucket("flaky", s));
      for (const [proxy, json] of Object.entries(h)) {
        const fail = (JSON.parse(json) as Record<string, { fail?: number }>)[flakyEp]?.fail ?? 0;
        if (fail > 0) failures.set(proxy, (failures.get(proxy) ?? 0) + fail);
      }
    }
    expect([...failures.values()].reduce((x, y) => x + y, 0)).toBe(
      (expected.flaky["5xx"] ?? 0) + (expected.flaky.error ?? 0),
    );
    expect([...failures.keys()].every((p) => /^p[0-3]$/.test(p))).toBe(true);

    // The black hole fails every proxy's warm-up: stored as fast signals with their attributes.
    const hole = await attempts("hole", holeEp);
    const warmups = hole.w.signals.filter((s) => s.kind === "warmup_failure");
    expect(new Set(warmups.map((s) => s.proxy))).toEqual(new Set(["p0", "p1", "p2", "p3"]));
    expect(warmups[0]!.endpoint).toBe(holeEp);
    expect(warmups[0]!.attributes[ATTR.warmupOutcome]).toBe("health_failed");
  });
});
