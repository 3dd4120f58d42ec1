/**
 * The demo's processes: the upstream simulator (three external services, five endpoints
 * each, two zones) and two fleets of real `meshtune proxy` processes with identical configs —
 * one connected to the tuner (OTLP to the collector, snapshots from Redis), one alone.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_API_VERSION, type ProxyConfigInput } from "@meshtune/contracts";
import { freePort, type Simulator, startSimulatorWith, stopChild } from "@meshtune/testkit";
import { ENDPOINTS_PER_SERVICE, SERVICES, type ServiceName, simName, zoneOf } from "./story.js";

const CLI_MAIN = fileURLToPath(new URL("../main.js", import.meta.url));

export async function startStorySimulator(): Promise<Simulator> {
  return startSimulatorWith(
    SERVICES.flatMap((s) =>
      Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, i) => ({
        name: simName(s.cluster, i),
        zone: zoneOf(i),
        faults: { latency: { dist: "lognormal" as const, medianMs: 3, sigma: 0.3 } },
      })),
    ),
  );
}

/** The proxy configuration every proxy of both fleets runs (minus removed endpoints). */
export function proxyConfig(opts: {
  sim: Simulator;
  listenerPort: number;
  adminPort: number;
  removed: ReadonlySet<string>;
}): ProxyConfigInput {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: {
      zone: "zone-a",
      listener: { host: "127.0.0.1", port: opts.listenerPort },
      admin: { host: "127.0.0.1", port: opts.adminPort },
      drainTimeoutMs: 3000,
    },
    routes: SERVICES.map((s) => ({ match: { host: s.host }, cluster: s.cluster })),
    clusters: SERVICES.map((s) => ({
      name: s.cluster,
      discovery: {
        type: "static" as const,
        endpoints: Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, i) => i)
          .filter((i) => !opts.removed.has(simName(s.cluster, i)))
          .map((i) => ({ address: "127.0.0.1", port: opts.sim.endpoint(simName(s.cluster, i)).port, zone: zoneOf(i) })),
      },
      lb: { policy: "least_request" as const },
      pool: { minWarm: 1, maxConnections: 32, connectTimeoutMs: 500 },
      warmup: { deadlineMs: 2000 },
      healthCheck: { path: "/health", intervalMs: 2000, timeoutMs: 500 },
      outlier: { maxEjectionPercent: 40, consecutiveLocalOriginFailures: 3 },
      retry: { maxRetries: 1 },
      requestTimeoutMs: 3000,
    })),
  };
}

export interface DemoProxy {
  id: string;
  fleet: FleetName;
  listenerUrl: string;
  adminUrl: string;
  configFile: string;
  /** Rewrites the config file (the proxy reloads it on change). */
  reconfigure(removed: ReadonlySet<string>): void;
  stop(): Promise<void>;
}
export type FleetName = "tuned" | "alone";

export interface StartFleetOptions {
  fleet: FleetName;
  size: number;
  sim: Simulator;
  dir: string;
  /** Extra `meshtune proxy` flags (tuner connection for the tuned fleet). */
  flags: readonly string[];
  /** Extra environment (secrets stay off the command line). */
  env?: Record<string, string>;
}

export async function startFleet(opts: StartFleetOptions): Promise<DemoProxy[]> {
  mkdirSync(opts.dir, { recursive: true });
  const proxies: DemoProxy[] = [];
  try {
    for (let i = 1; i <= opts.size; i++) proxies.push(await startProxy(opts, `${opts.fleet}-${i}`));
    // Generous: eight sidecars warming up at once on a small shared machine take a while.
    await Promise.all(proxies.map((p) => waitReady(p.adminUrl, 60_000)));
    return proxies;
  } catch (err) {
    await Promise.all(proxies.map((p) => p.stop()));
    throw err;
  }
}

async function startProxy(opts: StartFleetOptions, id: string): Promise<DemoProxy> {
  const [listenerPort, adminPort] = [await freePort(), await freePort()];
  const configFile = join(opts.dir, `${id}.yaml`);
  const write = (removed: ReadonlySet<string>) =>
    writeFileSync(
      configFile,
      JSON.stringify(proxyConfig({ sim: opts.sim, listenerPort, adminPort, removed }), null, 1),
    );
  write(new Set());
  const log = createWriteStream(join(opts.dir, `${id}.log`));
  const child = spawn(process.execPath, [CLI_MAIN, "proxy", "--config", configFile, "--id", id, ...opts.flags], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return {
    id,
    fleet: opts.fleet,
    listenerUrl: `http://127.0.0.1:${listenerPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    configFile,
    reconfigure: write,
    stop: () => stopChild(child),
  };
}

async function waitReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/ready`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl}/ready did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const serviceOf = (cluster: ServiceName) => SERVICES.find((s) => s.cluster === cluster)!;

export interface TunerProcess {
  readonly collectorUrl: string;
  readonly actuatorAdminUrl: string;
  readonly metricsUrls: readonly string[];
  close(): Promise<void>;
}

/**
 * `meshtune tuner` as its own process, as a user runs it: the demo process already hosts the
 * simulator and every load generator, and a tuner sharing that event loop delayed the
 * simulator's health answers enough to fail the proxies' checks on a 2-core machine.
 */
export async function startTunerProcess(o: {
  dir: string;
  redisUrl: string;
  prefix: string;
  controlKey: string;
  kafkaBrokers?: string;
  decisionsFile?: string;
}): Promise<TunerProcess> {
  const [otlp, admin, engine] = [await freePort(), await freePort(), await freePort()];
  const log = createWriteStream(join(o.dir, "tuner.log"));
  const args = [
    CLI_MAIN,
    "tuner",
    "--redis-url",
    o.redisUrl,
    "--prefix",
    o.prefix,
    "--otlp-address",
    `127.0.0.1:${otlp}`,
    "--admin-address",
    `127.0.0.1:${admin}`,
    "--engine-metrics-address",
    `127.0.0.1:${engine}`,
    "--evaluation-interval-ms",
    "1000",
    ...(o.kafkaBrokers ? ["--kafka-brokers", o.kafkaBrokers] : []),
    ...(o.decisionsFile ? ["--decisions-file", o.decisionsFile] : []),
  ];
  // Kafka comes from --kafka-brokers only: without it the tuner writes the JSON Lines file.
  // The signing key in the environment, not on the command line where `ps` shows it.
  const env = { ...process.env, KAFKA_BROKERS: o.kafkaBrokers ?? "", MESHTUNE_CONTROL_KEY: o.controlKey };
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const collectorUrl = `http://127.0.0.1:${otlp}`;
  try {
    await waitReady(collectorUrl, 60_000);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${(err as Error).message}; see ${join(o.dir, "tuner.log")}`);
  }
  return {
    collectorUrl,
    actuatorAdminUrl: `http://127.0.0.1:${admin}`,
    metricsUrls: [`${collectorUrl}/metrics`, `http://127.0.0.1:${admin}/metrics`, `http://127.0.0.1:${engine}/metrics`],
    close: () => stopChild(child, 10_000),
  };
}
