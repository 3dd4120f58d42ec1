/**
 * `meshtune proxy --redis-url ... --control-key-file ...` as an operator runs it (issue #11):
 * the proxy follows signed snapshots, keeps serving with its last good state while Redis is
 * down, and after Redis is back (same data, as a persistent Redis restarts) it re-reads and
 * applies what changed meanwhile. Runs its own redis-server so it can stop and start it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRedis, createSnapshotStore, parseSigningKeys, type Redis, signSnapshot } from "@meshtune/adapters";
import {
  type ClusterOverride,
  type ClusterSnapshot,
  CONFIG_API_VERSION,
  redisChannels,
  redisKeys,
} from "@meshtune/contracts";
import { freePort, type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js");
const KEY = "fleet:0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const PREFIX = "mt-test-control";
const dir = mkdtempSync(join(tmpdir(), "meshtune-control-"));
const cleanup: (() => unknown)[] = [];
let sim: Simulator;
let redisPort: number;
let redisServer: ChildProcess | undefined;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server of this test, append-only file on, so a restart keeps the data. */
async function startRedis(): Promise<void> {
  const child = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir],
    { stdio: "ignore" },
  );
  child.once("error", (err) => {
    throw new Error(`redis-server could not start (install it: apt-get install redis-server): ${err.message}`);
  });
  redisServer = child;
  const probe = createRedis(`redis://127.0.0.1:${redisPort}`, {
    ioredis: { lazyConnect: true, retryStrategy: () => 100 },
  });
  probe.on("error", () => {});
  await until("redis-server to answer", async () => (await probe.ping().catch(() => "")) === "PONG");
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const child = redisServer;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

async function commit(redis: Redis, override: ClusterOverride): Promise<number> {
  const store = createSnapshotStore({ redis, prefix: PREFIX });
  const cur = await store.current("api");
  if (!cur.ok) throw new Error(cur.error);
  const version = cur.value.version + 1;
  const snap: ClusterSnapshot = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ClusterSnapshot",
    cluster: "api",
    version,
    issuedAt: Date.now(),
    override,
  };
  const r = await store.commit("api", {
    baseVersion: cur.value.version,
    snapshot: signSnapshot(snap, parseSigningKeys(KEY)[0]),
  });
  expect(r.ok && r.value.status).toBe("committed");
  await redis.publish(redisChannels(PREFIX).config("api"), String(version));
  return version;
}

beforeAll(async () => {
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }]);
  redisPort = await freePort();
  await startRedis();
});
afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await stopRedis();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

it("follows signed snapshots, serves through a Redis outage and catches up after it", async () => {
  const [listener, admin] = [await freePort(), await freePort()];
  const config = join(dir, "proxy.yaml");
  writeFileSync(
    config,
    JSON.stringify({
      apiVersion: CONFIG_API_VERSION,
      kind: "ProxyConfig",
      proxy: { id: "cli-proxy", listener: { port: listener }, admin: { port: admin } },
      clusters: [
        {
          name: "api",
          discovery: { type: "static", endpoints: sim.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })) },
          healthCheck: { intervalMs: 60_000 },
        },
      ],
    }),
  );
  const keyFile = join(dir, "control.key");
  writeFileSync(keyFile, `${KEY}\n`);
  const url = `redis://127.0.0.1:${redisPort}`;
  const args = ["--config", config, "--no-telemetry", "--no-watch", "--redis-url", url, "--redis-prefix", PREFIX];
  args.push("--control-key-file", keyFile, "--control-check-interval-ms", "300");
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.runProxy(${JSON.stringify(args)})).then((c) => process.exit(c))`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  cleanup.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const redis = createRedis(url, { name: "control-cli-test" });
  redis.on("error", () => {});
  cleanup.push(() => redis.disconnect());
  const b = `127.0.0.1:${sim.endpoint("b").port}`;
  const ejected = async () => {
    const res = await request(`http://127.0.0.1:${admin}/clusters`).catch(() => undefined);
    if (res?.statusCode !== 200) return undefined;
    const body = (await res.body.json()) as {
      clusters: Array<{ endpoints: Array<{ endpoint: string; available: boolean }> }>;
    };
    return body.clusters[0]?.endpoints.find((e) => e.endpoint === b)?.available === false;
  };
  await until(`the proxy to start (stderr: ${stderr})`, async () => (await ejected()) === false);

  const v1 = await commit(redis, { endpointOverrides: { [b]: { ejected: true, ejectReason: "tuner" } } });
  await until("b ejected", async () => (await ejected()) === true);
  expect(JSON.parse((await redis.hget(redisKeys(PREFIX).acks("api"), "cli-proxy")) ?? "{}")).toMatchObject({
    version: v1,
    status: "ACK",
  });

  await stopRedis();
  sim.resetStats();
  for (let i = 0; i < 10; i++) {
    const res = await request(`http://127.0.0.1:${listener}/x`, { headers: { host: "api" } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  }
  expect(sim.stats().b?.requests).toBe(0);
  expect(child.exitCode).toBeNull();

  await startRedis();
  const v2 = await commit(redis, { endpointOverrides: {} });
  await until("b back after Redis returned", async () => (await ejected()) === false, 20_000);
  await until("the ACK of the new version", async () => {
    const ack = JSON.parse((await redis.hget(redisKeys(PREFIX).acks("api"), "cli-proxy")) ?? "{}") as {
      version?: number;
    };
    return ack.version === v2;
  });

  // Tuned pool limits survive a config reload (SIGHUP): the file's pool goes back, the
  // snapshot's limits on top again.
  const maxConnections = async () => {
    const res = await request(`http://127.0.0.1:${admin}/clusters`);
    const body = (await res.body.json()) as {
      clusters: Array<{ endpoints: Array<{ pool: { maxConnections: number } | null }> }>;
    };
    return body.clusters[0]?.endpoints.map((e) => e.pool?.maxConnections);
  };
  const configVersion = async () =>
    ((await (await request(`http://127.0.0.1:${admin}/config`)).body.json()) as { version: number }).version;
  await commit(redis, { endpointOverrides: {}, pool: { maxConnectionsPerEndpoint: 3 } });
  await until("pool limit 3", async () => (await maxConnections())?.every((m) => m === 3) ?? false);
  const before = await configVersion();
  child.kill("SIGHUP");
  await until("the reload", async () => (await configVersion()) > before);
  await until(
    "pool limit 3 again after the reload",
    async () => (await maxConnections())?.every((m) => m === 3) ?? false,
  );
  await new Promise((r) => setTimeout(r, 300));
  expect((await maxConnections())?.every((m) => m === 3)).toBe(true);

  expect(stderr).not.toContain(KEY.split(":")[1]);
  child.kill("SIGTERM");
  expect(await new Promise((r) => child.once("exit", (code) => r(code)))).toBe(0);
}, 60_000);

it("refuses a control key without a Redis URL and documents the flags in --help", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const script = `import(${JSON.stringify(MAIN)}).then((m) => m.runProxy(${JSON.stringify(args)})).then((c) => process.exit(c))`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout?.on("data", (d) => {
        out += d;
      });
      child.stderr?.on("data", (d) => {
        out += d;
      });
      child.once("exit", (code) => resolve({ code, out }));
    });
  const help = await run(["--help"]);
  for (const flag of [
    "--redis-url",
    "--control-key",
    "--control-key-file",
    "MESHTUNE_REDIS_URL",
    "MESHTUNE_CONTROL_KEY",
  ])
    expect(help.out).toContain(flag);
  const bad = await run(["--config", "x.yaml", "--control-key", "secret"]);
  expect(bad.code).toBe(2);
  expect(bad.out).toContain("a control key needs --redis-url");
}, 30_000);
