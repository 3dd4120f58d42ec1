/**
 * Decision latency and memory at 200 proxies × 50 endpoints through the service's real job path
 * (see run.mjs): the simulated fleet's seconds are written in the collector's bucket layout.
 */
import { randomUUID } from "node:crypto";
import { adapters, contracts, engine, pct, r2, service, sim } from "./lib.mjs";

const { evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } = engine;
const { FleetSim } = sim;
const { createRedis, readClusterWindows, bucketField, gaugeField, BUCKET_KIND, GAUGE, SIGNAL_STREAM_FIELD } = adapters;
const { createEngineStore, runEvaluationJob } = service;
const { redisKeys } = contracts;

const KIND = BUCKET_KIND;
const bucketFields = [];
/** One simulated second as the collector stores it: bucket hash, per-proxy gauges, signals. */
function writeSecond(p, keys, cluster, sec, second, proxies, signals) {
  const fields = {};
  for (const w of second) {
    const ep = w.endpoint;
    for (const [c, v] of Object.entries(w.attempts)) if (v) fields[bucketField(ep, KIND.attempts, c)] = v;
    for (const [kind, h] of [
      [KIND.latency, w.latency],
      [KIND.connectLatency, w.connectLatency],
    ]) {
      if (h.count === 0) continue;
      fields[bucketField(ep, kind, "n")] = h.count;
      fields[bucketField(ep, kind, "sum")] = h.sum;
      h.counts.forEach((c, i) => {
        if (c) fields[bucketField(ep, kind, `b${i}`)] = c;
      });
    }
    for (const [r, v] of Object.entries(w.connectFailures)) fields[bucketField(ep, KIND.connectFailures, r)] = v;
    for (const [r, v] of Object.entries(w.health)) fields[bucketField(ep, KIND.health, r)] = v;
    for (const [px, v] of Object.entries(w.failuresByProxy)) fields[bucketField(ep, KIND.failByProxy, px)] = v;
    for (const [px, v] of Object.entries(w.healthyByProxy)) fields[bucketField(ep, KIND.okByProxy, px)] = v;
    fields[bucketField(ep, KIND.picks)] = w.picks;
  }
  const key = keys.windowBucket(cluster, sec);
  bucketFields.push(Object.keys(fields).length);
  p.hset(key, fields);
  p.expire(key, 180);
  const at = sec * 1000 + 999;
  for (let i = 0; i < proxies; i++) {
    const proxy = `proxy-${i}`;
    p.zadd(keys.proxies(cluster), at, proxy);
    const g = {};
    for (const w of second) {
      g[gaugeField(w.endpoint, GAUGE.inFlight)] = `${at}|${Math.round(w.gauges.inFlight / proxies)}`;
      g[gaugeField(w.endpoint, GAUGE.poolIdle)] = `${at}|${Math.round(w.gauges.poolIdle / proxies)}`;
      g[gaugeField(w.endpoint, GAUGE.poolActive)] = `${at}|${Math.round(w.gauges.poolActive / proxies)}`;
    }
    p.hset(keys.gauges(cluster, proxy), g);
  }
  for (const s of signals) p.xadd(keys.signals(cluster), "*", SIGNAL_STREAM_FIELD, JSON.stringify(s));
}

export async function latency(redisUrl, quick) {
  const PROXIES = 200;
  const ENDPOINTS = 50;
  const EVALS = quick ? 60 : 300;
  const cluster = "bench.example.com";
  const config = resolveEngineConfig();
  // Start "now" so the stream ids and Redis TTLs are realistic; one evaluation per simulated second.
  const start = Math.floor(Date.now() / 1000) * 1000 - 120_000;
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
  const engineOnly = [];
  let state = initialState();
  let redis;
  let store;
  const prefix = `mt-bench-engine-${randomUUID().slice(0, 8)}`;
  if (redisUrl) {
    redis = createRedis(redisUrl);
    store = createEngineStore(redis, { prefix });
  }
  const keys = redisKeys(prefix);
  const heapBefore = process.memoryUsage().heapUsed;
  let maxRss = 0;
  let decisions = 0;
  for (let t = 0; t < 60 + EVALS; t++) {
    const windows = sim.step();
    if (redis) {
      const p = redis.pipeline();
      writeSecond(p, keys, cluster, Math.floor(sim.now / 1000) - 1, sim.lastSecond(), PROXIES, sim.lastSignals());
      await p.exec();
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
      engineOnly.push(job.at(-1) - (reads.at(-1) ?? 0));
      if (out.result === "evaluated") {
        decisions += out.added.length;
        inJobEvaluate.push(out.evaluateMs);
      }
    }
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  const stateBytes = JSON.stringify(state).length;
  const windowsBytes = JSON.stringify(sim.windows()).length;
  if (redis) {
    let cursor = "0";
    for (let i = 0; i < 1000; i++) {
      const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (found.length > 0) await redis.del(...found);
      cursor = next;
      if (cursor === "0") break;
    }
    await redis.quit();
  }
  return {
    proxies: PROXIES,
    endpoints: ENDPOINTS,
    evaluations: EVALS,
    evaluateMs: { p50: r2(pct(pure, 0.5)), p99: r2(pct(pure, 0.99)), max: r2(Math.max(...pure)) },
    jobMs: job.length ? { p50: r2(pct(job, 0.5)), p99: r2(pct(job, 0.99)), max: r2(Math.max(...job)) } : null,
    readWindowsMs: reads.length ? { p50: r2(pct(reads, 0.5)), p99: r2(pct(reads, 0.99)) } : null,
    jobWithoutReadMs: engineOnly.length ? { p50: r2(pct(engineOnly, 0.5)), p99: r2(pct(engineOnly, 0.99)) } : null,
    fieldsPerBucket: bucketFields.length
      ? Math.round(bucketFields.reduce((a, b) => a + b, 0) / bucketFields.length)
      : null,
    evaluateInJobMs: inJobEvaluate.length
      ? { p50: r2(pct(inJobEvaluate, 0.5)), p99: r2(pct(inJobEvaluate, 0.99)) }
      : null,
    jobPath:
      "lock + readClusterWindows (60 buckets, 200 gauge hashes, signals) + state/settings + evaluate + Lua commit",
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
