/**
 * Redis with credentials and TLS (issue #14), each a real redis-server started that way here:
 * - TLS only (`--port 0 --tls-port`), the default user off, one ACL user with a password; every
 *   part connects with `rediss://USER:PASSWORD@host:port` and trusts the server's CA through
 *   NODE_EXTRA_CA_CERTS (Node's documented way to add a private CA, no flag of ours);
 * - a plain `requirepass` server with `redis://:PASSWORD@host:port`.
 * Against each, a one-process `meshtune tuner` (collector, engine worker, actuator) and a
 * `meshtune proxy` close the loop: the proxy's telemetry becomes windows (collector), the
 * engine evaluates, a decision reaches the proxy through the actuator's signed snapshot (control
 * client). No password or control key appears in any log line, /config or /metrics.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, type Redis } from "@meshtune/adapters";
import { redisKeys, TUNER_METRICS } from "@meshtune/contracts";
import { type Simulator, startSimulatorWith, testCerts } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  isEjected,
  metricSum,
  scrape,
  startPrivateRedis,
  startProxyProc,
  stopProc,
  writeDecision,
} from "./faults.js";
import { Closer, freePort, waitFor } from "./helpers.js";

const PASSWORD = "pw-3f9a2c71e5b84d06";
const KEY = "k1:c0ffee00deadbeef0123456789abcdef";
const ADMIN_TOKEN = "tok-9b8a7c6d5e4f3a21";
const CLUSTER = "api";
const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-sec-redis-"));
const tlsEnv = { NODE_EXTRA_CA_CERTS: testCerts.caFile };
let sim: Simulator;

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }]);
  closer.defer(() => sim.close());
});
afterAll(() => closer.closeAll(), 60_000);

interface Tuner {
  child: ChildProcess;
  collector: string;
  admin: string;
  engine: string;
  output(): string;
}

async function startTunerProc(redisUrl: string, prefix: string): Promise<Tuner> {
  const [otlp, admin, engine] = [await freePort(), await freePort(), await freePort()];
  const args = [CLI, "tuner", "--redis-url", redisUrl, "--prefix", prefix, "--control-key", KEY];
  args.push("--otlp-address", `127.0.0.1:${otlp}`, "--admin-address", `127.0.0.1:${admin}`);
  args.push("--engine-metrics-address", `127.0.0.1:${engine}`, "--admin-token", ADMIN_TOKEN);
  args.push(
    "--evaluation-interval-ms",
    "500",
    "--decisions-file",
    join(dir, `${prefix}.jsonl`),
    "--log-level",
    "debug",
  );
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...tlsEnv },
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  closer.defer(() => stopProc(child));
  const t = {
    child,
    collector: `http://127.0.0.1:${otlp}`,
    admin: `http://127.0.0.1:${admin}`,
    engine: `http://127.0.0.1:${engine}`,
    output: () => out,
  };
  await waitFor(
    "the tuner up",
    async () => {
      if (child.exitCode !== null) throw new Error(`tuner exited ${child.exitCode}: ${out}`);
      return (await scrape(`${t.admin}/metrics`)).length > 0;
    },
    30_000,
  );
  return t;
}

async function closeTheLoop(redisUrl: string, client: Redis, prefix: string): Promise<void> {
  const tuner = await startTunerProc(redisUrl, prefix);
  const proxy = await startProxyProc({
    id: `${prefix}-p`,
    dir,
    sim,
    cluster: CLUSTER,
    redisUrl,
    prefix,
    controlKey: KEY,
    otlp: tuner.collector,
    env: tlsEnv,
  });
  closer.defer(() => stopProc(proxy.child));
  const b = `127.0.0.1:${sim.endpoint("b").port}`;

  await waitFor(
    "collector: windows written",
    async () => (await client.keys(`${prefix}:{${CLUSTER}}:win:*`)).length > 0,
    20_000,
  );
  await waitFor(
    "engine: evaluations",
    async () =>
      metricSum(await scrape(`${tuner.engine}/metrics`), TUNER_METRICS.engineJobs.name, { result: "evaluated" }) > 0,
    20_000,
  );
  await writeDecision(client, prefix, { kind: "eject", cluster: CLUSTER, endpoint: b, after: { ejected: true } });
  await waitFor(
    "actuator + control client: the proxy applies the decision",
    async () => (await isEjected(proxy, CLUSTER, b)) === true,
    20_000,
  );
  const ack = JSON.parse((await client.hget(redisKeys(prefix).acks(CLUSTER), proxy.id)) ?? "{}") as { status?: string };
  expect(ack.status).toBe("ACK");

  const config = await (await request(`http://127.0.0.1:${proxy.admin}/config`)).body.text();
  const metrics = [await scrape(`http://127.0.0.1:${proxy.admin}/metrics`), await scrape(`${tuner.admin}/metrics`)];
  await stopProc(proxy.child);
  await stopProc(tuner.child);
  const secret = KEY.split(":")[1]!;
  for (const [what, text] of [
    ["tuner output", tuner.output()],
    ["proxy output", proxy.stderr()],
    ["proxy /config", config],
    ["/metrics", metrics.join("\n")],
  ] as const) {
    expect(text.length, what).toBeGreaterThan(0);
    for (const s of [PASSWORD, secret, ADMIN_TOKEN]) expect(text.includes(s), `${what} shows a secret`).toBe(false);
  }
}

describe("Redis with credentials", () => {
  it("TLS (rediss://) with an ACL user, default user off: every part connects, nothing leaks", async () => {
    const tlsPort = await freePort();
    const url = `rediss://meshtune:${PASSWORD}@127.0.0.1:${tlsPort}`;
    const srv = await startPrivateRedis({
      dir,
      args: [
        ...["--port", "0", "--tls-port", String(tlsPort), "--tls-auth-clients", "no"],
        ...[
          "--tls-cert-file",
          testCerts.certFile,
          "--tls-key-file",
          testCerts.keyFile,
          "--tls-ca-cert-file",
          testCerts.caFile,
        ],
        ...["--user", "default", "off", "--user", "meshtune", "on", `>${PASSWORD}`, "~*", "&*", "+@all"],
      ],
      url: () => url,
      probe: { ioredis: { tls: { ca: testCerts.caPem } } },
    });
    closer.defer(() => srv.kill());
    const client = createRedis(url, { ioredis: { tls: { ca: testCerts.caPem } } });
    closer.defer(() => client.quit());
    // The server really refuses what it should: no TLS, and the default user.
    const plain = createRedis(`redis://127.0.0.1:${tlsPort}`, {
      ioredis: { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    });
    plain.on("error", () => {});
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
    const anon = createRedis(`rediss://127.0.0.1:${tlsPort}`, {
      ioredis: { lazyConnect: true, tls: { ca: testCerts.caPem }, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    });
    anon.on("error", () => {});
    await expect(anon.ping()).rejects.toThrow();
    anon.disconnect();

    await closeTheLoop(url, client, "mt-sec-tls");
  }, 60_000);

  it("requirepass (redis://:PASSWORD@): every part connects, nothing leaks", async () => {
    const srv = await startPrivateRedis({
      dir: mkdtempSync(join(dir, "pw-")),
      args: ["--requirepass", PASSWORD],
      url: (port) => `redis://:${PASSWORD}@127.0.0.1:${port}`,
    });
    closer.defer(() => srv.kill());
    const client = createRedis(srv.url);
    closer.defer(() => client.quit());
    await closeTheLoop(srv.url, client, "mt-sec-pw");
  }, 60_000);
});
