/**
 * `meshtune demo`: the quickstart on embedded defaults — the simulator with one endpoint
 * black-holed and one slow (+50 ms), the proxy in front of it, a steady open-loop load, and a
 * live terminal view of what warm-up and the load balancer did. Ctrl-C stops everything.
 */
import { parseArgs } from "node:util";
import { CONFIG_API_VERSION, type ProxyConfigInput } from "@meshtune/contracts";
import { type ClusterRuntime, EgressProxy } from "@meshtune/dataplane";
import { runLoad, startSimulatorWith } from "@meshtune/testkit";

export const DEMO_HELP = `Usage: meshtune demo [--rps N] [--duration SECONDS] [--no-tty]

Runs the quickstart: five simulated endpoints (zone-a: ep1-ep3, zone-b: ep4-ep5) with ep3
black-holed from the start and ep5 50 ms slower, the meshtune proxy in front of them
(least_request with pool-aware score, LB-directed warm-up, predictive scale-up), and a steady
open-loop load. Every second it shows, per endpoint: warm connections, whether it was taken out
before the first request and why, share of traffic, latency estimate and LB score.
Ctrl-C stops everything it started.

Options:
  --rps N             request rate (default 200)
  --duration SECONDS  stop after this long (default: run until Ctrl-C)
  --no-tty            print plain snapshots instead of redrawing the screen`;

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rps: { type: "string", default: "200" },
      duration: { type: "string" },
      "no-tty": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const rps = Number(values.rps);
  if (!Number.isFinite(rps) || rps <= 0 || rps > 20_000) {
    console.error("meshtune demo: --rps must be a number between 1 and 20000");
    return 2;
  }
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && (!Number.isFinite(durationS) || durationS <= 0)) {
    console.error("meshtune demo: --duration must be a positive number of seconds");
    return 2;
  }
  const tty = process.stdout.isTTY && !values["no-tty"];

  console.log("starting the upstream simulator (ep3 black-holed, ep5 +50 ms) ...");
  const sim = await startSimulatorWith(
    ["ep1", "ep2", "ep3", "ep4", "ep5"].map((name, i) => ({
      name,
      zone: i < 3 ? "zone-a" : "zone-b",
      faults: {
        latency: { dist: "lognormal" as const, medianMs: 2, sigma: 0.3 },
        ...(name === "ep3" ? { blackHole: true } : {}),
      },
    })),
  );
  sim.endpoint("ep5").setFaults({ latency: { dist: "lognormal", medianMs: 52, sigma: 0.3 } });
  const proxyConfig: ProxyConfigInput = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: { zone: "zone-a", listener: { port: 0 }, admin: { port: 0 }, drainTimeoutMs: 3000 },
    clusters: [
      {
        name: "api",
        discovery: {
          type: "static",
          endpoints: sim.endpoints.map((e, i) => ({
            address: "127.0.0.1",
            port: e.port,
            zone: i < 3 ? "zone-a" : "zone-b",
          })),
        },
        lb: { policy: "least_request" },
        pool: { minWarm: 2, connectTimeoutMs: 300 },
        warmup: { deadlineMs: 2000 },
        healthCheck: { intervalMs: 2000, timeoutMs: 300 },
        outlier: { maxEjectionPercent: 40 },
      },
    ],
  };
  const proxy = new EgressProxy({}, "demo-proxy");
  const applied = await proxy.applyConfig(1, proxyConfig, "demo (embedded)");
  if (applied.status !== "ACK") throw new Error(applied.reason);
  console.log("starting the proxy and warming up ...");
  const t0 = performance.now();
  await proxy.start();
  const readyMs = performance.now() - t0;
  const l = proxy.listenerAddress!;
  const a = proxy.adminAddress!;
  const cluster = proxy.clusters.get("api")!;

  const ac = new AbortController();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    ac.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const load = runLoad({
    url: `http://127.0.0.1:${l.port}/demo`,
    rps,
    durationMs: (durationS ?? 24 * 3600) * 1000,
    headers: { host: "api.example.com" },
    timeoutMs: 5000,
    signal: ac.signal,
  });

  const names = new Map(sim.endpoints.map((e) => [e.port, e.name]));
  let last = new Map<string, number>();
  const render = () => {
    const lines = view(cluster, names, last, readyMs, rps, `http://127.0.0.1:${l.port}`, `http://127.0.0.1:${a.port}`);
    last = new Map(cluster.hosts.hosts.map((h) => [h.key, h.requestsTotal]));
    if (tty) process.stdout.write(`\x1b[2J\x1b[H${lines.join("\n")}\n`);
    else console.log(`${lines.join("\n")}\n`);
  };
  const timer = setInterval(render, 1000);
  render();
  const result = await load;
  clearInterval(timer);
  render();
  console.log(
    `load: sent ${result.sent}, completed ${result.completed}, errors ${Object.values(result.errors).reduce((x, y) => x + y, 0)}, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`,
  );
  console.log("stopping: draining the proxy and closing the simulator ...");
  await proxy.shutdown();
  await sim.close();
  return 0;
}

function view(
  rt: ClusterRuntime,
  names: Map<number, string>,
  last: Map<string, number>,
  readyMs: number,
  rps: number,
  listener: string,
  admin: string,
): string[] {
  const hosts = rt.hosts.hosts;
  const deltas = hosts.map((h) => h.requestsTotal - (last.get(h.key) ?? 0));
  const total = deltas.reduce((x, y) => x + y, 0) || 1;
  const out = [
    `meshtune demo — proxy ${listener} (admin ${admin}/clusters), ${rps} rps open-loop, ready after ${readyMs.toFixed(0)} ms; Ctrl-C to stop`,
    "",
    "endpoint  zone    state      warm(idle/act/conn)  warm-up                               share/s  latency  score",
  ];
  hosts.forEach((h, i) => {
    const pool = rt.pool(h);
    const w = rt.warmupState(h);
    const flags = [...h.flags.keys()];
    const state =
      flags.length === 0 ? "available" : flags.includes("failed_warmup") ? "EJECTED*" : flags[0]!.toUpperCase();
    const warm = pool ? `${pool.idle}/${pool.active}/${pool.connecting}` : "-";
    const why =
      w?.status === "failed"
        ? `failed: ${(w.reason ?? "").slice(0, 30)}`
        : `${w?.status ?? "-"} ${w?.ready ?? 0}/${w?.target ?? 0} ${w?.why?.split(":")[0] ?? ""}`;
    out.push(
      [
        (names.get(h.port) ?? h.key).padEnd(9),
        (h.zone ?? "-").padEnd(7),
        state.padEnd(10),
        warm.padEnd(20),
        why.slice(0, 37).padEnd(37),
        `${((100 * (deltas[i] ?? 0)) / total).toFixed(1)}%`.padStart(7),
        `${rt.latencyMs(h).toFixed(1)}ms`.padStart(8),
        rt.scoreOf(h).score.toFixed(2).padStart(7),
      ].join("  "),
    );
  });
  out.push("", "* EJECTED before the first request: warm-up failure is discovery (seed coordination 2).");
  return out;
}
