#!/usr/bin/env node
/**
 * Engine benchmark (issue #10; DESIGN.md section 8): a standalone script, not a timed test.
 *
 * 1. Decision latency and memory at 200 proxies × 50 endpoints: a simulated fleet writes its
 *    1-second buckets, gauges and signals into Redis in the collector's layout, then each
 *    evaluation job runs the service's real path — cluster lock, readClusterWindows, state and
 *    operator settings, evaluate, fenced Lua commit — "job picked up -> decisions written".
 *    The pure evaluate() alone is timed too. Goal: p99 ≤ 100 ms.
 * 2. Decision quality on a scripted fault schedule with noise over simulated time (the closed
 *    loop of packages/engine/src/sim): ejection precision and recall, hard failure -> decision
 *    time (goal ≤ 1 s after the first signal), latency degradation -> first weight cut (goal
 *    ≤ 5 s), false ejections under stationary noise (goal 0), reversals per endpoint per hour.
 *
 * Usage: pnpm --filter @meshtune/engine --filter @meshtune/engine-service... build, then
 *   node bench/engine/run.mjs [--quick] [--no-redis]       (REDIS_URL, default redis://127.0.0.1:6379)
 * Writes bench/results/engine-<timestamp>.json and bench/results/engine-latest.json.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const imp = (p) => import(join(root, p));
const { evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } = await imp(
  "packages/engine/dist/index.js",
);
const { FleetSim, endpointName } = await imp("packages/engine/dist/sim/index.js");
const { createRedis, pingRedis, readClusterWindows, bucketField, gaugeField, BUCKET_KIND, GAUGE, SIGNAL_STREAM_FIELD } =
  await imp("packages/adapters/dist/index.js");
const { createEngineStore, runEvaluationJob } = await imp("services/engine/dist/index.js");
const { redisKeys } = await imp("packages/contracts/dist/index.js");

const { values } = parseArgs({ options: { quick: { type: "boolean" }, "no-redis": { type: "boolean" } } });
const quick = values.quick ?? false;

const pct = (xs, q) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
const log = (...a) => console.error("[engine-bench]", ...a);

// --- 1. latency and memory ------------------------------------------------------------------

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

async function latency(redisUrl) {
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

// --- 2. decision quality -----------------------------------------------------------------------

/** Scripted faults, seconds from the start; a fault every ~5 min on a different endpoint. */
function schedule(hours) {
  const faults = [];
  const kinds = ["refuse", "latency", "blackhole", "errors", "latency", "refuse"];
  for (let i = 0, t = 300; t < hours * 3600 - 300; i++, t += 300) {
    const kind = kinds[i % kinds.length];
    const endpoint = (i * 7) % 20;
    const len = kind === "latency" ? 180 : 90;
    faults.push({
      endpoint,
      kind,
      from: t * 1000,
      to: (t + len) * 1000,
      ...(kind === "latency" ? { factor: 3.5 } : kind === "errors" ? { factor: 0.7 } : {}),
    });
  }
  return faults;
}

function runQuality({ seed, hours, faults }) {
  const config = resolveEngineConfig();
  const sim = new FleetSim({
    endpoints: 20,
    proxies: 50,
    ratePerEndpoint: 50,
    latencySigma: 0.35,
    backgroundErrorRate: 0.003,
    seed,
    faults,
  });
  const start = sim.now;
  let state = initialState();
  const decisions = [];
  for (let t = 0; t < hours * 3600; t++) {
    const w = sim.step();
    const r = evaluate({ config, windows: w, state, now: w.at, operator: NO_OPERATOR_SETTINGS });
    state = r.state;
    decisions.push(...r.decisions);
    sim.apply(r.decisions);
  }
  const applied = decisions.filter((d) => !d.dryRun && !d.guardrails?.some((g) => g.action === "blocked"));
  const at = (d) => Date.parse(d.decidedAt) - start;
  const ejectable = new Set(["refuse", "blackhole", "errors"]);
  // New ejections (not renewals of a standing one).
  const newEjections = applied.filter((d) => d.kind === "eject" && d.before.ejected === false);
  const truthAt = (d) =>
    faults.find(
      (f) =>
        endpointName(f.endpoint) === d.endpoint && ejectable.has(f.kind) && at(d) >= f.from && at(d) <= f.to + 1000,
    );
  const tp = newEjections.filter(truthAt).length;
  const hardDelays = [];
  const degradeDelays = [];
  let detected = 0;
  let ejectableFaults = 0;
  for (const f of faults) {
    const ep = endpointName(f.endpoint);
    if (ejectable.has(f.kind)) {
      ejectableFaults++;
      const d = newEjections.find((x) => x.endpoint === ep && at(x) >= f.from && at(x) <= f.to);
      // Already ejected when the fault began (an earlier fault's ejection still standing) counts as covered.
      const standing = applied.some(
        (x) => x.endpoint === ep && x.kind === "eject" && at(x) <= f.from && at(x) > f.from - 300_000,
      );
      if (d || standing) detected++;
      if (d && f.kind !== "errors") hardDelays.push(at(d) - f.from);
    } else if (f.kind === "latency") {
      const d = applied.find(
        (x) =>
          x.endpoint === ep &&
          x.kind === "set_weight" &&
          at(x) >= f.from &&
          Number(x.after.weight) < Number(x.before.weight),
      );
      degradeDelays.push(d ? at(d) - f.from : Number.POSITIVE_INFINITY);
    }
  }
  // Reversals: a weight change whose direction is opposite to the previous change of the same endpoint.
  let reversals = 0;
  const lastDir = new Map();
  for (const d of applied.filter((x) => x.kind === "set_weight")) {
    const dir = Math.sign(Number(d.after.weight) - Number(d.before.weight));
    if (lastDir.has(d.endpoint) && lastDir.get(d.endpoint) !== dir) reversals++;
    lastDir.set(d.endpoint, dir);
  }
  return {
    seed,
    hours,
    faults: faults.length,
    decisions: decisions.length,
    applied: applied.length,
    ejections: newEjections.length,
    precision: newEjections.length ? tp / newEjections.length : 1,
    recall: ejectableFaults ? detected / ejectableFaults : 1,
    falseEjections: newEjections.length - tp,
    hardFailureToDecisionMs: { p50: pct(hardDelays, 0.5), max: hardDelays.length ? Math.max(...hardDelays) : null },
    latencyDegradationDetectMs: {
      p50: pct(degradeDelays, 0.5),
      max: degradeDelays.length ? Math.max(...degradeDelays) : null,
    },
    weightReversalsPerEndpointHour: r2(reversals / 20 / hours),
    changesPerEndpointHour: r2(applied.length / 20 / hours),
  };
}

async function main() {
  const redisUrl = values["no-redis"] ? undefined : (process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  let usable = redisUrl;
  if (redisUrl) {
    const ping = await pingRedis(redisUrl);
    if (!ping.ok) {
      log(`Redis unreachable (${ping.error}): timing evaluate() only`);
      usable = undefined;
    }
  }
  log("latency at 200 proxies x 50 endpoints ...");
  const lat = await latency(usable);
  log(JSON.stringify(lat));
  const seeds = quick ? [1] : [1, 2, 3];
  const hours = quick ? 0.5 : 2;
  const quality = [];
  const stationary = [];
  for (const seed of seeds) {
    log(`quality, seed ${seed}, ${hours} h simulated ...`);
    quality.push(runQuality({ seed, hours, faults: schedule(hours) }));
    log(JSON.stringify(quality.at(-1)));
    stationary.push(runQuality({ seed, hours: quick ? 0.5 : 1, faults: [] }));
    log(`stationary: ${JSON.stringify(stationary.at(-1))}`);
  }
  const worst = (xs, f, pick) => xs.map(f).reduce((a, b) => pick(a, b));
  const summary = {
    decisionP99Ms: lat.jobMs?.p99 ?? lat.evaluateMs.p99,
    precisionMin: worst(quality, (q) => q.precision, Math.min),
    recallMin: worst(quality, (q) => q.recall, Math.min),
    hardFailureToDecisionMaxMs: worst(quality, (q) => q.hardFailureToDecisionMs.max ?? 0, Math.max),
    latencyDegradationDetectMaxMs: worst(quality, (q) => q.latencyDegradationDetectMs.max ?? 0, Math.max),
    stationaryFalseEjections: stationary.reduce((t, s) => t + s.ejections, 0),
    stationaryChangesPerEndpointHourMax: worst(stationary, (s) => s.changesPerEndpointHour, Math.max),
    stationaryReversalsPerEndpointHourMax: worst(stationary, (s) => s.weightReversalsPerEndpointHour, Math.max),
    faultRunReversalsPerEndpointHourMax: worst(quality, (q) => q.weightReversalsPerEndpointHour, Math.max),
  };
  const goals = {
    "decision p99 ≤ 100 ms": summary.decisionP99Ms <= 100,
    "precision ≥ 0.99": summary.precisionMin >= 0.99,
    "recall = 1.0": summary.recallMin === 1,
    "hard failure decided ≤ 1 s": summary.hardFailureToDecisionMaxMs <= 1000,
    "latency degradation ≤ 5 s": summary.latencyDegradationDetectMaxMs <= 5000,
    "no false ejection under stationary noise": summary.stationaryFalseEjections === 0,
  };
  const result = {
    benchmark: "engine",
    at: new Date().toISOString(),
    quick,
    node: process.version,
    redis: usable ? "real (loopback)" : "none",
    latency: lat,
    quality,
    stationary,
    summary,
    goals,
  };
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `engine-${result.at.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  if (!quick) writeFileSync(join(dir, "engine-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ file, summary, goals }, null, 2));
  return Object.values(goals).every(Boolean) ? 0 : 1;
}

process.exitCode = await main();
