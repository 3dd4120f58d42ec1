/**
 * Actuator benchmark (issue #11; not a test: figures go to bench/results/actuator-*.json).
 *
 *   node bench/actuator/run.ts [--proxies 20] [--rounds 100] [--burst 2000] [--quick]
 *   (REDIS_URL and KAFKA_BROKERS from the environment: `set -a; . .run/services.env; set +a`)
 *
 * 1. latency  — decision-to-applied across N real proxy processes: a decision is written to the
 *    engine's stream at t0; each proxy's ACK carries the Unix ms it applied the version (same
 *    machine clock). Per-proxy samples (p50/p99, goal p99 <= 500 ms; istiod documents "mostly
 *    under 1 s") and per-version time until the last proxy applied it.
 * 2. burst    — B decisions written back to back; decisions folded per second, versions
 *    published per second, until every proxy applied the final version and every event was on Kafka.
 * 3. sustained — decisions at 50, 200 and 500 per second: versions per second and
 *    decision-to-fleet-applied per decision (the outbox says which version carried each).
 * 4. fleet    — DESIGN.md section 8: N proxies at 20 rps each, one of three endpoints starts
 *    failing every request; client-visible failures (retries off) with proxies alone versus
 *    with the tuner. The engine is not wired in: a stand-in counts the endpoint's 503s at the
 *    simulator (what the collector aggregates from the proxies' fast signals) and writes the
 *    engine's eject decision at one proxy's threshold (5), with zero engine latency.
 *
 * `--only latency,burst,sustained,fleet` runs some parts; a full run also writes actuator-latest.json.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BURST, dir, N, ONLY, ROUNDS, redis, sim, values } from "./harness.ts";
import { burst, fleetScenario, latency, RPS, sustained } from "./scenarios.ts";

const startedAt = new Date().toISOString();
const os = await import("node:os");
const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `actuator-${startedAt.replace(/[:.]/g, "-")}${values.quick ? "-quick" : ""}.json`);
const out: Record<string, unknown> = {
  scenario: "actuator",
  startedAt,
  machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: os.loadavg() },
  goals: { decisionToAppliedP99Ms: 500, fleetFailuresVsOneProxy: 1.5 },
};
/** Written after every part, so a later failure keeps what was measured. */
const save = (part: string, value: unknown) => {
  out[part] = value;
  out.loadAverageAtEnd = os.loadavg();
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.error(`[bench] ${part} ${JSON.stringify(value)}`);
};
console.error(`[bench] actuator: ${N} proxies, ${ROUNDS} rounds, burst ${BURST}, parts ${[...ONLY].join(",")}`);
if (ONLY.has("latency")) {
  const lat = await latency();
  save("latency", { ...lat, met: lat.decisionToAppliedMs.p99 <= 500 });
}
if (ONLY.has("burst")) save("burst", await burst());
if (ONLY.has("sustained")) {
  const sus = [];
  for (const rate of values.quick ? [100] : [50, 200, 500]) sus.push(await sustained(rate, values.quick ? 2 : 5));
  save("sustained", sus);
}
if (ONLY.has("fleet")) {
  const alone = await fleetScenario(false);
  const tuned = await fleetScenario(true);
  save("fleet", {
    proxies: N,
    rpsPerProxy: RPS,
    failedAlone: alone.failed,
    failedWithTuner: tuned.failed,
    oneProxyThreshold: 5,
    ratioAloneToOneProxy: alone.failed / 5,
    ratioTunerToOneProxy: tuned.failed / 5,
    met: tuned.failed / 5 <= 1.5,
    requests: { alone: alone.requests, tuner: tuned.requests },
    detector:
      "stand-in for collector + engine: the endpoint's 503s counted at the simulator every 2 ms, eject decision at 5 (zero engine latency; the engine is not wired yet)",
  });
}
// A full run (every part, not --quick) is also the committed `actuator-latest.json`.
if (!values.quick && ONLY.size === 4)
  writeFileSync(join(resultsDir, "actuator-latest.json"), `${JSON.stringify(out, null, 2)}\n`);
console.error(`[bench] wrote ${file}`);
await sim.close();
await redis.quit();
rmSync(dir, { recursive: true, force: true });
