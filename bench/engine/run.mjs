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
 *   node bench/engine/run.mjs [--quick] [--no-redis] [--repeat N] [--latency-only]
 *   (REDIS_URL, default redis://127.0.0.1:6379). --repeat runs the latency part N times (the
 *   machine is shared: one run's p99 says little) and reports min / median / max of each p99.
 * Writes bench/results/engine-<timestamp>.json; a full run with quality also engine-latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { latency } from "./latency.mjs";
import { adapters, log, root } from "./lib.mjs";
import { runQuality, schedule } from "./quality.mjs";

const { pingRedis } = adapters;
const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    "no-redis": { type: "boolean" },
    repeat: { type: "string" },
    "latency-only": { type: "boolean" },
  },
});
const quick = values.quick ?? false;
const repeat = Math.min(20, Math.max(1, Number(values.repeat ?? 1) || 1));
const latencyOnly = values["latency-only"] ?? false;

/** min / median / max over the runs of one p99 (path: e.g. ["parts", "readWindowsMs"]). */
function spread(runs, path) {
  const xs = runs
    .map((r) => path.reduce((o, k) => o?.[k], r)?.p99)
    .filter((x) => typeof x === "number")
    .sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return { min: xs[0], median: xs[Math.floor((xs.length - 1) / 2)], max: xs.at(-1) };
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
  const runs = [];
  for (let i = 0; i < repeat; i++) {
    log(`latency at 200 proxies x 50 endpoints, run ${i + 1}/${repeat} ...`);
    runs.push(await latency(usable, quick));
    log(JSON.stringify(runs.at(-1)));
  }
  const p99Spread = {
    job: spread(runs, ["jobMs"]),
    readWindows: spread(runs, ["parts", "readWindowsMs"]),
    evaluate: spread(runs, ["parts", "evaluateMs"]),
    commit: spread(runs, ["parts", "commitMs"]),
    evaluateAlone: spread(runs, ["evaluateMs"]),
  };
  const lat = runs[0];
  const seeds = latencyOnly ? [] : quick ? [1] : [1, 2, 3];
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
  const worst = (xs, f, pick) => (xs.length ? xs.map(f).reduce((a, b) => pick(a, b)) : null);
  const summary = {
    decisionP99Ms: (p99Spread.job ?? p99Spread.evaluateAlone).median,
    precisionMin: worst(quality, (q) => q.precision, Math.min),
    recallMin: worst(quality, (q) => q.recall, Math.min),
    hardFailureToDecisionMaxMs: worst(quality, (q) => q.hardFailureToDecisionMs.max ?? 0, Math.max),
    latencyDegradationDetectMaxMs: worst(quality, (q) => q.latencyDegradationDetectMs.max ?? 0, Math.max),
    stationaryFalseEjections: stationary.reduce((t, s) => t + s.ejections, 0),
    stationaryChangesPerEndpointHourMax: worst(stationary, (s) => s.changesPerEndpointHour, Math.max),
    stationaryReversalsPerEndpointHourMax: worst(stationary, (s) => s.weightReversalsPerEndpointHour, Math.max),
    faultRunReversalsPerEndpointHourMax: worst(quality, (q) => q.weightReversalsPerEndpointHour, Math.max),
  };
  const latencyGoal = { "decision p99 ≤ 100 ms (median of runs)": summary.decisionP99Ms <= 100 };
  const goals = latencyOnly
    ? latencyGoal
    : {
        ...latencyGoal,
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
    latencyRuns: runs,
    p99Spread,
    quality,
    stationary,
    summary,
    goals,
  };
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const tag = `${quick ? "-quick" : ""}${latencyOnly ? "-latency" : ""}`;
  const file = join(dir, `engine-${result.at.replace(/[:.]/g, "-")}${tag}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  if (!quick && !latencyOnly) writeFileSync(join(dir, "engine-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ file, p99Spread, summary, goals }, null, 2));
  return Object.values(goals).every(Boolean) ? 0 : 1;
}

process.exitCode = await main();
