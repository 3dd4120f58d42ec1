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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { latency } from "./latency.mjs";
import { adapters, log, root } from "./lib.mjs";
import { runQuality, schedule } from "./quality.mjs";

const { pingRedis } = adapters;
const { values } = parseArgs({ options: { quick: { type: "boolean" }, "no-redis": { type: "boolean" } } });
const quick = values.quick ?? false;

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
  const lat = await latency(usable, quick);
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
