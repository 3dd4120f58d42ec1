/**
 * The demo fleet with the tuner, as separate `meshtune` processes on loopback: a simulator with
 * three endpoints (the second 50 ms slower, the third black-holed from the start, so warm-up
 * fails and the tuner ejects it fleet-wide); two proxies exporting to the tuner and following
 * its snapshots; and the tuner as deployed — `meshtune collector`, `meshtune engine`,
 * `meshtune actuator` — on a random Redis prefix. (`meshtune tuner` runs the same three in one
 * process, but does not say where its engine serves /metrics, which Prometheus must scrape.)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis } from "@meshtune/adapters";
import type { ProxyConfigInput, SimConfigInput } from "@meshtune/contracts";
import { freePort } from "@meshtune/testkit";
import { stringify } from "yaml";
import { JOBS } from "../../src/prometheus/scrape.js";
import { meshtune, type Proc, waitFor } from "./processes.js";
import type { Target } from "./prometheus.js";

export const CLUSTER = "api";
export const ROUTE_HOST = "api.example.com";

export interface Fleet {
  readonly procs: Proc[];
  readonly targets: Target[];
  readonly collectorUrl: string;
  /** Listener addresses of the proxies (host:port). */
  readonly listeners: string[];
  stop(): Promise<void>;
}

function simConfig(ports: number[], control: number): SimConfigInput {
  return {
    apiVersion: "meshtune.io/sim/v1alpha1",
    kind: "SimConfig",
    control: { host: "127.0.0.1", port: control },
    endpoints: ports.map((port, i) => ({
      name: `e${i + 1}`,
      host: "127.0.0.1",
      port,
      // e2 answers 50 ms slower (the pressure-weighting rule lowers its weight), e3 is a black hole.
      faults: { latency: { dist: "fixed", ms: i === 1 ? 52 : 2 }, blackHole: i === 2 },
    })),
  };
}

function proxyConfig(sim: number[], listener: number, admin: number, id: string): ProxyConfigInput {
  return {
    apiVersion: "meshtune.io/v1alpha1",
    kind: "ProxyConfig",
    proxy: { id, listener: { host: "127.0.0.1", port: listener }, admin: { host: "127.0.0.1", port: admin } },
    routes: [{ match: { host: ROUTE_HOST }, cluster: CLUSTER }],
    clusters: [
      {
        name: CLUSTER,
        discovery: { type: "static", endpoints: sim.map((port) => ({ address: "127.0.0.1", port })) },
        lb: { policy: "least_request" },
        pool: { minWarm: 2, connectTimeoutMs: 300 },
        warmup: { deadlineMs: 1_000 },
        healthCheck: { path: "/health", intervalMs: 500, timeoutMs: 300 },
        outlier: { consecutiveLocalOriginFailures: 2, maxEjectionPercent: 50 },
        requestTimeoutMs: 2_000,
      },
    ],
  };
}

/** Removes the run's keys: `<prefix>:...` (contracts redisKeys) and `{<prefix>:bull}...` (the BullMQ queue prefix). */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, { name: "dashboards-live-cleanup" });
  try {
    for (const match of [`${prefix}:*`, `{${prefix}:bull}*`]) {
      let cursor = "0";
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
        if (cursor === "0") break;
      }
    }
  } finally {
    redis.disconnect();
  }
}

/** Starts the fleet and waits until every part answers; stops what it started when that fails. */
export async function startFleet(redisUrl: string, prefix: string, proxies = 2): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), "meshtune-fleet-"));
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    await deleteKeys(redisUrl, prefix);
  };
  try {
    const simPorts = [await freePort(), await freePort(), await freePort()];
    const simFile = join(dir, "sim.yaml");
    writeFileSync(simFile, stringify(simConfig(simPorts, await freePort())));
    procs.push(meshtune("sim", ["sim", "--config", simFile]));

    // The tuner as it is deployed (infra/k8s, infra/compose): collector, engine worker and
    // actuator as three processes on one Redis, each serving its own /metrics.
    const [otlp, enginePort, admin] = [await freePort(), await freePort(), await freePort()];
    const redis = ["--redis-url", redisUrl];
    procs.push(
      meshtune("collector", [
        "collector",
        "--address",
        `127.0.0.1:${otlp}`,
        ...redis,
        "--prefix",
        prefix,
        "--evaluation-interval-ms",
        "500",
      ]),
      meshtune("engine", ["engine", "--address", `127.0.0.1:${enginePort}`, ...redis, "--prefix", prefix]),
      meshtune("actuator", ["actuator", "--admin", `127.0.0.1:${admin}`, ...redis, "--redis-prefix", prefix]),
    );
    const collectorUrl = `http://127.0.0.1:${otlp}`;
    for (const url of [
      `${collectorUrl}/ready`,
      `http://127.0.0.1:${enginePort}/ready`,
      `http://127.0.0.1:${admin}/live`,
    ]) {
      await waitFor(
        url,
        async () => {
          const dead = procs.find((p) => p.child.exitCode !== null);
          if (dead) throw new Error(`${dead.name} exited ${dead.child.exitCode}: ${dead.output()}`);
          return (await fetch(url)).ok ? true : undefined;
        },
        30_000,
      );
    }

    const listeners: string[] = [];
    const targets: Target[] = [
      { job: JOBS.collector, address: `127.0.0.1:${otlp}` },
      { job: JOBS.actuator, address: `127.0.0.1:${admin}` },
      { job: JOBS.engine, address: `127.0.0.1:${enginePort}` },
    ];
    for (let i = 0; i < proxies; i++) {
      const [listener, adminPort] = [await freePort(), await freePort()];
      const file = join(dir, `proxy-${i}.yaml`);
      writeFileSync(file, stringify(proxyConfig(simPorts, listener, adminPort, `live-proxy-${i}`)));
      procs.push(
        meshtune(`proxy-${i}`, [
          "proxy",
          "--config",
          file,
          "--otlp-endpoint",
          collectorUrl,
          "--metrics-interval-ms",
          "1000",
          "--redis-url",
          redisUrl,
          "--redis-prefix",
          prefix,
        ]),
      );
      listeners.push(`127.0.0.1:${listener}`);
      targets.push({ job: JOBS.proxy, address: `127.0.0.1:${adminPort}` });
    }
    for (const t of targets.filter((x) => x.job === JOBS.proxy)) {
      await waitFor(
        `proxy ${t.address} /ready`,
        async () => ((await fetch(`http://${t.address}/ready`)).ok ? true : undefined),
        30_000,
      );
    }
    return { procs, targets, collectorUrl, listeners, stop };
  } catch (err) {
    const outputs = procs.map((p) => `--- ${p.name}\n${p.output()}`).join("\n");
    await stop();
    throw new Error(`${String(err)}\n${outputs}`);
  }
}
