/**
 * Decision latency and memory at 200 proxies × 50 endpoints through the service's real job path
 * (see run.mjs). The simulated fleet's seconds go into Redis through the collector's own writer
 * (fleet-writer.mjs: one delta batch per proxy and second, signals via appendSignals), so the
 * reader sees the product's layout. The writer runs in a child process (fleet-process.mjs), as
 * the collector does: its garbage and memory are not the engine's. Each part of the job is timed: lock, state/settings load,
 * window read, evaluate, commit (the store's methods wrapped), and the load average is recorded.
 *
 * The simulation is paced to the wall clock (a step never runs more than PACE_AHEAD_MS ahead):
 * the writer's bucket expiry (EXPIREAT) and the signal stream's ids are wall-clock times.
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { startFleetProcess } from "./fleet-process.mjs";
import { adapters, engine, pct, r2, service, sim } from "./lib.mjs";

const { evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } = engine;
const { FleetSim } = sim;
const { createRedis, readClusterWindows } = adapters;
const { createEngineStore, runEvaluationJob } = service;

const PACE_AHEAD_MS = 2_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = (xs) => (xs.length ? { p50: r2(pct(xs, 0.5)), p99: r2(pct(xs, 0.99)), max: r2(Math.max(...xs)) } : null);
const load = () => loadavg().map(r2);

/** The engine store with each method timed into `parts` (ms per call, by method name). */
function timedStore(store, parts) {
  const timed =
    (name) =>
    async (...args) => {
      const t0 = performance.now();
      try {
        return await store[name](...args);
      } finally {
        parts[name].push(performance.now() - t0);
      }
    };
  return { lock: timed("lock"), unlock: timed("unlock"), load: timed("load"), commit: timed("commit") };
}

export async function latency(redisUrl, quick) {
  const PROXIES = 200;
  const ENDPOINTS = 50;
  const EVALS = quick ? 60 : 300;
  const cluster = "bench.example.com";
  const config = resolveEngineConfig();
  // Start 60 s back so the long view fills at once; the pacing keeps the sim near the wall clock.
  const start = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const sim = new FleetSim({
    cluster,
    endpoints: ENDPOINTS,
    proxies: PROXIES,
    ratePerEndpoint: 100,
    start,
    faults: [
      { endpoint: 7, kind: "refuse", from: 70_000, to: 200_000 },
      { endpoint: 11, kind: "latency", factor: 3, from: 80_000, to: 400_000 },
    ],
  });
  const pure = [];
  const job = [];
  const reads = [];
  const inJobEvaluate = [];
  const writes = [];
  const parts = { lock: [], unlock: [], load: [], commit: [] };
  let state = initialState();
  let redis;
  let store;
  let writer;
  const prefix = `mt-bench-engine-${randomUUID().slice(0, 8)}`;
  if (redisUrl) {
    redis = createRedis(redisUrl);
    store = timedStore(createEngineStore(redis, { prefix }), parts);
    writer = startFleetProcess(redisUrl, { prefix, cluster, proxies: PROXIES });
  }
  const loadAtStart = load();
  const heapBefore = process.memoryUsage().heapUsed;
  let maxRss = 0;
  let decisions = 0;
  let proxiesReporting = 0;
  for (let t = 0; t < 60 + EVALS; t++) {
    const windows = sim.step();
    if (writer) {
      const ahead = sim.now - Date.now();
      if (ahead > PACE_AHEAD_MS) await sleep(ahead - PACE_AHEAD_MS);
      const w0 = performance.now();
      await writer.write(Math.floor(sim.now / 1000) - 1, sim.lastSecond(), sim.lastSignals());
      writes.push(performance.now() - w0);
    }
    if (t < 60) continue; // fill the long view first
    const a = performance.now();
    const r = evaluate({ config, windows, state, now: windows.at, operator: NO_OPERATOR_SETTINGS });
    pure.push(performance.now() - a);
    state = r.state;
    sim.apply(r.decisions);
    if (store) {
      const deps = {
        store,
        windows: {
          read: async (c, at) => {
            const t0 = performance.now();
            const w = await readClusterWindows(redis, { cluster: c, at, prefix });
            reads.push(performance.now() - t0);
            if (w.ok) proxiesReporting = w.value.proxiesReporting;
            return w;
          },
        },
        config,
        dryRun: false,
        lockTtlMs: 10_000,
        lockWaitMs: 1_000,
      };
      const b = performance.now();
      const out = await runEvaluationJob(deps, cluster, windows.at);
      job.push(performance.now() - b);
      if (out.result === "evaluated") {
        decisions += out.added.length;
        inJobEvaluate.push(out.evaluateMs);
      }
    }
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  const loadAtEnd = load();
  const stateBytes = JSON.stringify(state).length;
  const windowsBytes = JSON.stringify(sim.windows()).length;
  const writeStats = writer ? await writer.stop() : null;
  if (redis) {
    await adapters.deleteMatching(redis, `${prefix}:*`);
    await redis.quit();
  }
  const jobWithoutRead = job.map((x, i) => x - (reads[i] ?? 0));
  return {
    proxies: PROXIES,
    endpoints: ENDPOINTS,
    evaluations: EVALS,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    writer:
      "createWindowStore().write (delta points, one batch per proxy and second) + appendSignals, in a child process",
    evaluateMs: stats(pure),
    jobMs: stats(job),
    parts: job.length
      ? {
          readWindowsMs: stats(reads),
          evaluateMs: stats(inJobEvaluate),
          commitMs: stats(parts.commit),
          lockMs: stats(parts.lock),
          loadStateMs: stats(parts.load),
          unlockMs: stats(parts.unlock),
          jobWithoutReadMs: stats(jobWithoutRead),
        }
      : null,
    proxiesReporting,
    fleetWrite: writeStats && { ...writeStats, secondMs: stats(writes) },
    jobPath:
      "lock + (state/settings load ‖ readClusterWindows: 60 buckets, 10 per-proxy buckets, 200 gauge snapshots, signals) + evaluate + Lua commit + unlock",
    decisionsWritten: decisions,
    goalP99Ms: 100,
    met: (job.length ? pct(job, 0.99) : pct(pure, 0.99)) <= 100,
    memory: {
      rssMaxMiB: r2(maxRss / 2 ** 20),
      heapGrowthMiB: r2((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20),
      stateJsonKiB: r2(stateBytes / 1024),
      windowsJsonKiB: r2(windowsBytes / 1024),
    },
  };
}
