// Collector benchmark (issue #9): not a test — figures go to bench/results/collector-*.json.
//   pnpm --filter @meshtune/collector build && pnpm --filter @meshtune/collector bench [-- --quick]
// 1. decode + extract on one thread, no I/O: data points/s and spans/s;
// 2. the collector as its own process pinned to one core (taskset), with its own redis-server
//    on the other core: a fleet of P proxies x E endpoints each exporting every 10 s (collector
//    CPU, RSS, Redis commands/s), then peak throughput per collector CPU-second for metrics,
//    request spans and fast-signal spans. Payloads come from the OTel JS SDK and serializers.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { cpuSeconds, exportsFor, freePort, hasTaskset, pct, pinned, proxyId, rate, rssMiB, sleep } from "./lib.mjs";
import { countPoints, metricSource, serializeMetrics, spanPayload } from "./payloads.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist");
const { decodeMetrics, decodeTraces } = await import(join(dist, "otlp/proto.js"));
const { extractMetrics } = await import(join(dist, "otlp/metrics.js"));
const { extractSignals } = await import(join(dist, "otlp/spans.js"));

const quick = process.argv.includes("--quick");
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const PROXIES = arg("proxies", quick ? 200 : 1000);
const ENDPOINTS = arg("endpoints", 50);
const INTERVAL_MS = arg("interval-ms", 10_000);
const ROUNDS = arg("rounds", quick ? 2 : 3);
const MICRO_MS = quick ? 1_500 : 3_000;
// ---- 1. decode + extract, one thread ----
const source = metricSource({ endpoints: ENDPOINTS });
let rm = await source.round();
const pointsPerExport = countPoints(rm);
const metricsBody = serializeMetrics(rm, "p-0");
const requestSpans = await spanPayload({ count: 512, fast: false });
const fastSpans = await spanPayload({ count: 64, fast: true });
console.log(
  `payloads: metrics ${pointsPerExport} points / ${metricsBody.length} B; 512 request spans ${requestSpans.length} B; 64 fast spans ${fastSpans.length} B`,
);
const micro = [
  rate(
    "decode+extract metric points (1 thread)",
    () => extractMetrics(decodeMetrics(metricsBody, "protobuf"), Date.now()),
    pointsPerExport,
    MICRO_MS,
  ),
  rate(
    "decode+extract request spans (1 thread)",
    () => extractSignals(decodeTraces(requestSpans, "protobuf"), Date.now()),
    512,
    MICRO_MS,
  ),
  rate(
    "decode+extract fast-signal spans (1 thread)",
    () => extractSignals(decodeTraces(fastSpans, "protobuf"), Date.now()),
    64,
    MICRO_MS,
  ),
];

// ---- 2. collector process + its own Redis ----
const dir = mkdtempSync(join(tmpdir(), "meshtune-collector-bench-"));
const redisPort = await freePort();
const [rcmd, rargs] = pinned(0, "redis-server", [
  "--port",
  String(redisPort),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  "--dir",
  dir,
]);
const redis = spawn(rcmd, rargs, { stdio: "ignore" });
const cli = (...a) =>
  execFileSync("redis-cli", ["-p", String(redisPort), ...a], { stdio: ["ignore", "pipe", "ignore"] }).toString();
for (let i = 0; i < 100; i++) {
  try {
    if (cli("ping").includes("PONG")) break;
  } catch {}
  await sleep(50);
}
const port = await freePort();
const script = `import(${JSON.stringify(join(dist, "index.js"))}).then(async (m) => process.exit(await m.runCollector(process.argv.slice(1))))`;
const [ccmd, cargs] = pinned(1, process.execPath, [
  "-e",
  script,
  "--",
  "--address",
  `127.0.0.1:${port}`,
  "--redis-url",
  `redis://127.0.0.1:${redisPort}`,
  "--log-level",
  "warn",
]);
const collector = spawn(ccmd, cargs, { stdio: ["ignore", "inherit", "inherit"] });
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
for (let i = 0; i < 200; i++) {
  try {
    const r = await pool.request({ path: "/ready", method: "GET" });
    await r.body.text();
    if (r.statusCode === 200) break;
  } catch {}
  await sleep(50);
}
// taskset execs the command, so the child pid is the process itself.
const collectorPid = collector.pid;
const redisPid = redis.pid;
const redisCommands = () => Number(/total_commands_processed:(\d+)/.exec(cli("info", "stats"))[1]);

async function post(path, body) {
  const t = performance.now();
  const r = await pool.request({ path, method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
  await r.body.arrayBuffer();
  return { status: r.statusCode, ms: performance.now() - t };
}
let lastRoundAt = 0;

// 2a. the fleet: every proxy exports every INTERVAL_MS, spread evenly over the interval
async function fleet() {
  const statuses = {};
  const lat = [];
  let maxRss = 0;
  let serializeMs = 0;
  const cpu0 = cpuSeconds(collectorPid);
  const rcpu0 = cpuSeconds(redisPid);
  const cmd0 = redisCommands();
  const t0 = performance.now();
  const inflight = new Set();
  for (let round = 0; round < ROUNDS; round++) {
    rm = await source.round();
    lastRoundAt = Date.now();
    const bodyFor = exportsFor(rm);
    const start = t0 + round * INTERVAL_MS;
    for (let p = 0; p < PROXIES; p++) {
      const due = start + (p * INTERVAL_MS) / PROXIES;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const s0 = performance.now();
      const body = bodyFor(proxyId(p));
      serializeMs += performance.now() - s0;
      const req = post("/v1/metrics", body).then((r) => {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        lat.push(r.ms);
        inflight.delete(req);
      });
      inflight.add(req);
      if (p % 50 === 0) maxRss = Math.max(maxRss, rssMiB(collectorPid));
    }
  }
  await Promise.all(inflight);
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(collectorPid) - cpu0;
  const out = {
    proxies: PROXIES,
    endpoints: ENDPOINTS,
    intervalMs: INTERVAL_MS,
    rounds: ROUNDS,
    pointsPerExport,
    exports: lat.length,
    statuses,
    seconds: +s.toFixed(1),
    pointsPerSecond: Math.round((lat.length * pointsPerExport) / s),
    collectorCpuCores: +(cpu / s).toFixed(3),
    collectorMaxRssMiB: +maxRss.toFixed(1),
    redisCommandsPerSecond: Math.round((redisCommands() - cmd0) / s),
    redisCpuCores: +((cpuSeconds(redisPid) - rcpu0) / s).toFixed(3),
    redisUsedMemoryMiB: +(Number(/used_memory:(\d+)/.exec(cli("info", "memory"))[1]) / 2 ** 20).toFixed(1),
    exportLatencyMs: { p50: +pct(lat, 50).toFixed(2), p99: +pct(lat, 99).toFixed(2) },
    driverMsPerExport: +(serializeMs / lat.length).toFixed(3),
  };
  console.log("fleet:", JSON.stringify(out));
  return out;
}

// 2b. peak: as fast as the collector answers, `conc` requests at a time
async function peak(label, path, bodies, units, conc = 16) {
  const cpu0 = cpuSeconds(collectorPid);
  const rcpu0 = cpuSeconds(redisPid);
  const cmd0 = redisCommands();
  const t0 = performance.now();
  const statuses = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < bodies.length) {
        const r = await post(path, bodies[next++]);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(collectorPid) - cpu0;
  const total = bodies.length * units;
  const out = {
    label,
    requests: bodies.length,
    statuses,
    perSecond: Math.round(total / s),
    collectorCpuCores: +(cpu / s).toFixed(3),
    perCollectorCpuSecond: Math.round(total / cpu),
    redisCommandsPerSecond: Math.round((redisCommands() - cmd0) / s),
    redisCpuCores: +((cpuSeconds(redisPid) - rcpu0) / s).toFixed(3),
    redisCpuMicrosPerUnit: +(((cpuSeconds(redisPid) - rcpu0) * 1e6) / total).toFixed(2),
  };
  console.log(`peak ${label}:`, JSON.stringify(out));
  return out;
}

// 2c. what the engine pays: readClusterWindows of the fleet's cluster, views ending just after
// the last round's points (so the 60 s view holds the fleet's data).
async function reads(n = 20) {
  const { createRedis, readClusterWindows } = await import("@meshtune/adapters");
  const redisClient = createRedis(`redis://127.0.0.1:${redisPort}`);
  const ms = [];
  let endpoints = 0;
  let fields = 0;
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const w = await readClusterWindows(redisClient, { cluster: "bench", at: lastRoundAt + 1_000 });
      ms.push(performance.now() - t);
      if (!w.ok) throw new Error(w.error);
      endpoints = w.value.views.long.length;
      fields = w.value.views.short.reduce((a, e) => a + Object.keys(e.healthyByProxy).length, 0);
    }
  } finally {
    await redisClient.quit();
  }
  const out = {
    reads: n,
    proxies: PROXIES,
    endpoints,
    shortViewPerProxyEntries: fields,
    ms: { p50: +pct(ms, 50).toFixed(1), p99: +pct(ms, 99).toFixed(1) },
  };
  console.log("readClusterWindows:", JSON.stringify(out));
  return out;
}

let results;
try {
  const fleetResult = await fleet();
  const readResult = await reads();
  // Fresh cumulative rounds for other proxy ids, so every point is a real delta, not a duplicate.
  const bodies = [];
  const peakProxies = quick ? 50 : 100;
  for (let r = 0; r < (quick ? 3 : 6); r++) {
    rm = await source.round();
    const bodyFor = exportsFor(rm);
    for (let p = 0; p < peakProxies; p++) bodies.push(bodyFor(proxyId(10_000 + p)));
  }
  const peaks = [
    await peak("metric points", "/v1/metrics", bodies, pointsPerExport),
    await peak("request spans (512 per export)", "/v1/traces", Array(quick ? 300 : 1_000).fill(requestSpans), 512),
    await peak(
      "fast-signal spans (64 per export, stored)",
      "/v1/traces",
      Array(quick ? 300 : 1_500).fill(fastSpans),
      64,
      8,
    ),
  ];
  results = {
    benchmark: "collector",
    at: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version, pinned: hasTaskset },
    goals: { spansPerCore: 48_000, pointsPerCore: 100_000 },
    micro,
    fleet: fleetResult,
    read: readResult,
    peaks,
    // What one core does, from CPU time (robust on a shared machine; wall-clock rates are not).
    perCore: {
      pointsDecodeExtract: micro[0].perCpuSecond,
      requestSpansDecodeExtract: micro[1].perCpuSecond,
      fastSpansDecodeExtract: micro[2].perCpuSecond,
      pointsEndToEndCollector: peaks[0].perCollectorCpuSecond,
      pointsRedis: peaks[0].redisCpuMicrosPerUnit > 0 ? Math.round(1e6 / peaks[0].redisCpuMicrosPerUnit) : null,
      requestSpansEndToEndCollector: peaks[1].perCollectorCpuSecond,
      fastSpansStoredEndToEndCollector: peaks[2].perCollectorCpuSecond,
    },
  };
} finally {
  await pool.close();
  collector.kill("SIGTERM");
  await new Promise((r) => collector.once("exit", r));
  redis.kill("SIGTERM");
  await new Promise((r) => redis.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
  await source.close();
}
const outDir = join(here, "..", "..", "..", "bench", "results");
mkdirSync(outDir, { recursive: true });
const name = `collector-${results.at.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`;
writeFileSync(join(outDir, name), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(outDir, `collector-latest${quick ? "-quick" : ""}.json`), `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote bench/results/${name}`);
