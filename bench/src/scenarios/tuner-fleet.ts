/**
 * Scenario tuner-fleet — DESIGN.md section 8: "20 proxies, an endpoint dies mid-run:
 * fleet-wide failed requests ≤ 1.5× one proxy's threshold; decision-to-applied p99 ≤ 500 ms".
 *
 * N proxies of one kind (20; 8 with --quick) in front of five 1 ms endpoints, steady open-loop
 * load through each; at `deathAtMs` endpoint e3 dies: it refuses new connections and resets
 * every response on the connections already open (simulator `refuse` + `resetRate: 1`).
 * Systems: meshtune proxies following the tuner (collector + engine + actuator in one child
 * process, real Redis); the same proxies alone; HAProxy ×N and NGINX ×N. Retries are off
 * everywhere (tuner-fleet-systems.ts says why). meshtune's own ejection threshold is Envoy's
 * default, 5 consecutive local-origin failures. Two goal rows (tuner-fleet-goals.ts): the
 * literal one, the tuned fleet's total ≤ 1.5 × that threshold; and the stricter one, ≤ 1.5 ×
 * what one proxy alone measured (its clients see fewer failures than the threshold, because
 * its pool's refused reconnects count towards it).
 * Each tuner rule is switched off alone (engine config `enabled: false`) to show its effect;
 * --quick runs the eject-rule ablation only. A full run repeats the tuned and alone fleets
 * `repeats` times and reports min/median/max of the key figures (the median run is shown).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRedis } from "@meshtune/adapters";
import { load } from "../lib/load.js";
import { errorMessage, progress, sleep } from "../lib/log.js";
import { startBar, withTimedBar } from "../lib/progress.js";
import { type Ctx, fmt, rowsOf, runSystem, type Scenario, type ScenarioResult } from "../lib/run.js";
import type { RunningSim } from "../lib/sim.js";
import { REPO_ROOT } from "../systems/meshtune.js";
import type { ProxyInstance, SystemDef } from "../systems/types.js";
import { fiveEndpoints, pick } from "./common.js";
import { analyseControl, analyseTraffic, spread } from "./tuner-fleet-analysis.js";
import { type ControlHandle, readControl } from "./tuner-fleet-control.js";
import { goalsOf } from "./tuner-fleet-goals.js";
import {
  fleetOf,
  haproxyNoRetry,
  LOCAL_ORIGIN_THRESHOLD,
  meshtuneFleet,
  nginxNoRetry,
  type TunerSettings,
} from "./tuner-fleet-systems.js";

const DEAD = "e3";
const RULES = ["eject", "weights", "forecast", "pool"] as const;

interface Plan {
  proxies: number;
  rpsEach: number;
  durationMs: number;
  deathAtMs: number;
  repeats: number;
  ablations: readonly (typeof RULES)[number][];
  metricsIntervalMs: number;
  evaluationIntervalMs: number;
}

export const PLANS: Record<"quick" | "full", Plan> = {
  quick: {
    proxies: 8,
    rpsEach: 25,
    durationMs: 8_000,
    deathAtMs: 3_000,
    repeats: 1,
    ablations: ["eject"],
    metricsIntervalMs: 250,
    evaluationIntervalMs: 500,
  },
  full: {
    proxies: 20,
    rpsEach: 20,
    durationMs: 30_000,
    deathAtMs: 10_000,
    repeats: 3,
    ablations: RULES,
    metricsIntervalMs: 250,
    evaluationIntervalMs: 500,
  },
};

/** REDIS_URL, else the address `./dev services up` wrote, else the default port. */
function redisUrl(): string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const env = path.join(REPO_ROOT, ".run/services.env");
  const m = existsSync(env) ? /^REDIS_URL=(.+)$/m.exec(readFileSync(env, "utf8")) : null;
  return m?.[1]?.trim() ?? "redis://127.0.0.1:6379";
}

async function redisReachable(url: string): Promise<string | undefined> {
  const r = createRedis(url, { name: "bench-ping" });
  r.on("error", () => {});
  try {
    const pong = await Promise.race([r.ping(), sleep(3_000).then(() => "timeout")]);
    return pong === "PONG" ? undefined : `Redis at ${url} did not answer`;
  } catch (err) {
    return `Redis at ${url}: ${errorMessage(err)}`;
  } finally {
    r.disconnect();
  }
}

async function drive(plan: Plan, label: string, inst: ProxyInstance, sim: RunningSim) {
  const ports = inst.ports ?? [];
  const cpu0 = inst.cpuMs();
  const bar = startBar({ title: `tuner-fleet ${label}`, total: Math.ceil(plan.durationMs / 1000), unit: "s" });
  const loadStartedAt = Date.now();
  // Each proxy's schedule starts a fraction of one interval after the previous one, so the
  // fleet's requests arrive evenly, not N at the same millisecond every 1000/rps ms (in phase,
  // one pause of the shared load generator slowed a request of every proxy at once: a
  // helper's investigation of the p99 spike at the death, 2026-12-02).
  const phaseMs = (i: number) => (i * 1000) / plan.rpsEach / Math.max(1, ports.length);
  const loads = Promise.all(
    ports.map(async (p, i) => {
      await sleep(phaseMs(i));
      const run = await load({
        urls: [`http://127.0.0.1:${p}`],
        rps: plan.rpsEach,
        durationMs: plan.durationMs,
        timeoutMs: 2_000,
      });
      // Sample times from the fleet's load start, like the death's.
      for (const x of run.samples) x.at += phaseMs(i);
      return run;
    }),
  );
  const death = sleep(plan.deathAtMs).then(async () => {
    const at = Date.now();
    // A dead process answers nothing: new connections are refused, responses on the open ones
    // reset, and its health endpoint fails too (the simulator's /health would otherwise keep
    // answering 200 on connections accepted before the death, and a pooled health check
    // would then see a dead endpoint as healthy).
    await sim.setFaults(DEAD, { refuse: true, resetRate: 1, health: { status: 503 } });
    return at;
  });
  const [runs, deathAt] = await withTimedBar(
    bar,
    0,
    `${DEAD} dies at ${plan.deathAtMs / 1000} s`,
    Promise.all([loads, death]),
  );
  bar.stop();
  const traffic = analyseTraffic(
    runs.map((r) => r.samples),
    deathAt - loadStartedAt,
  );
  return {
    traffic,
    loadStartedAt,
    deathAt,
    cpuMsPer1000Requests: Math.round(((inst.cpuMs() - cpu0) / Math.max(1, traffic.requests)) * 10_000) / 10,
    rssMiB: Math.round(inst.rssMiB()),
  };
}

async function runOne(
  ctx: Ctx,
  plan: Plan,
  def: SystemDef,
  control: (() => ControlHandle | undefined) | undefined,
  n: number,
) {
  const scenarioDir = n > 1 ? `tuner-fleet/run${n}` : "tuner-fleet";
  return runSystem(
    ctx,
    scenarioDir,
    def,
    fiveEndpoints({ latency: { dist: "fixed", ms: 1 } }),
    {},
    async (inst, sim) => {
      const d = await drive(plan, def.label, inst, sim);
      const h = control?.();
      const raw = h ? await readControl(h) : undefined;
      // Kept with the run's logs for inspection (not in the results JSON: hundreds of ACKs).
      if (raw) writeFileSync(path.join(ctx.runDir, scenarioDir, def.id, "control.json"), JSON.stringify(raw));
      const ctl = raw
        ? analyseControl({
            ...raw,
            loadStartedAt: d.loadStartedAt,
            deathAt: d.deathAt,
            deadEndpoint: `127.0.0.1:${sim.portOf(DEAD)}`,
          })
        : undefined;
      progress(
        `tuner-fleet: ${def.label}: failed ${d.traffic.failedAfterDeath} after the death ` +
          `(per proxy ${d.traffic.failedPerProxy.mean}), last failure ${fmt(d.traffic.deathToLastFailureMs)} ms after it` +
          (ctl ? `; decision→applied p99 ${fmt(ctl.decisionToApplied.p99)} ms` : ""),
      );
      return {
        proxies: plan.proxies,
        ...d.traffic,
        ...(ctl ? { control: ctl } : {}),
        cpuMsPer1000Requests: d.cpuMsPer1000Requests,
        rssMiB: d.rssMiB,
      };
    },
    { remeasure: false },
  );
}

/** Runs `def` `repeats` times; the run with the median failed count is shown, the spread kept. */
async function repeated(
  ctx: Ctx,
  plan: Plan,
  def: SystemDef,
  control: (() => ControlHandle | undefined) | undefined,
  repeats: number,
) {
  const runs: Record<string, unknown>[] = [];
  for (let i = 1; i <= repeats; i++) runs.push(await runOne(ctx, plan, def, control, i));
  if (repeats === 1) return runs[0]!;
  const ok = runs.filter((r) => !r.error);
  if (ok.length === 0) return runs[0]!;
  const byFailed = [...ok].sort((a, b) => (pick(a, "failedAfterDeath") ?? 0) - (pick(b, "failedAfterDeath") ?? 0));
  const median = byFailed[Math.floor((byFailed.length - 1) / 2)]!;
  const of = (...k: string[]) => spread(ok.map((r) => pick(r, ...k)));
  return {
    ...median,
    spread: {
      runs: runs.length,
      failedAfterDeath: of("failedAfterDeath"),
      failedPerProxyMean: of("failedPerProxy", "mean"),
      deathToLastFailureMs: of("deathToLastFailureMs"),
      decisionToAppliedP99: of("control", "decisionToApplied", "p99"),
      decisionToAppliedP50: of("control", "decisionToApplied", "p50"),
    },
    runErrors: runs.filter((r) => r.error).map((r) => r.error),
  };
}

export const tunerFleet: Scenario = {
  name: "tuner-fleet",
  title: "Fleet of proxies, one of five endpoints dies mid-run: tuner vs proxies alone vs HAProxy/NGINX",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const base = ctx.quick ? PLANS.quick : PLANS.full;
    // Developer aid: BENCH_TUNER_FLEET_PROXIES=N runs N proxies per fleet (a smaller machine).
    const override = Number(process.env.BENCH_TUNER_FLEET_PROXIES);
    const plan = Number.isInteger(override) && override > 0 ? { ...base, proxies: override } : base;
    const url = redisUrl();
    const redisError = await redisReachable(url);
    if (redisError) progress(`tuner-fleet: ${redisError}; the tuned fleets are skipped (start it: ./dev services up)`);
    const tuner = (engineConfig?: Record<string, unknown>): TunerSettings => ({
      redisUrl: url,
      metricsIntervalMs: plan.metricsIntervalMs,
      evaluationIntervalMs: plan.evaluationIntervalMs,
      ...(engineConfig ? { engineConfig } : {}),
    });
    const n = plan.proxies;
    const tuned = meshtuneFleet({ id: "meshtune", label: `meshtune + tuner ×${n}`, n, tuner: tuner() });
    const alone = meshtuneFleet({ id: "meshtune-alone", label: `meshtune alone ×${n}`, n });
    const out: Record<string, Record<string, unknown>> = {};
    const skip = (label: string) => ({ label, error: redisError ?? "" });
    out.meshtune = redisError
      ? skip(tuned.def.label)
      : await repeated(ctx, plan, tuned.def, tuned.control, plan.repeats);
    out["meshtune-alone"] = await repeated(ctx, plan, alone.def, undefined, plan.repeats);
    out.haproxy = await runOne(ctx, plan, fleetOf(haproxyNoRetry(), n), undefined, 1);
    out.nginx = await runOne(ctx, plan, fleetOf(nginxNoRetry(), n), undefined, 1);
    for (const rule of plan.ablations) {
      const f = meshtuneFleet({
        id: `meshtune-no-${rule}`,
        label: `meshtune + tuner, ${rule} rule off ×${n}`,
        n,
        tuner: tuner({ [rule]: { enabled: false } }),
      });
      out[f.def.id] = redisError ? skip(f.def.label) : await runOne(ctx, plan, f.def, f.control, 1);
    }
    return {
      title: this.title,
      description:
        `${n} proxies of each kind, ${plan.rpsEach} rps through each (open loop, the proxies' schedules spread evenly over one interval, client timeout 2 s), five 1 ms ` +
        `endpoints; endpoint ${DEAD} dies ${plan.deathAtMs / 1000} s into a ${plan.durationMs / 1000} s run (refuses ` +
        `new connections, resets responses on open ones, fails health checks). Retries off everywhere; meshtune ejects locally after ` +
        `${LOCAL_ORIGIN_THRESHOLD} consecutive local-origin failures (Envoy's default) or 2 failed health checks ` +
        `(500 ms); HAProxy marks down on 1 layer-7 error or 2 failed checks; NGINX max_fails=1.` +
        (ctx.quick ? ` QUICK: ${n} proxies instead of 20, shorter run, eject-rule ablation only, no repeats.` : "") +
        (n !== base.proxies ? ` ${n} proxies per fleet (BENCH_TUNER_FLEET_PROXIES).` : ""),
      params: { ...plan, deadEndpoint: DEAD, localOriginThreshold: LOCAL_ORIGIN_THRESHOLD, redisUrl: url },
      systems: out,
      goals: goalsOf(out, plan.proxies, plan.ablations),
      notes: [],
    };
  },
  table(r) {
    const row = rowsOf(r);
    return [
      row("requests", (x) => fmt(pick(x, "requests"))),
      row("failed after the death (fleet)", (x) => fmt(pick(x, "failedAfterDeath"))),
      row(
        "failed per proxy (mean / max)",
        (x) => `${fmt(pick(x, "failedPerProxy", "mean"), 1)} / ${fmt(pick(x, "failedPerProxy", "max"))}`,
      ),
      row("death → last failed request ms", (x) => fmt(pick(x, "deathToLastFailureMs"))),
      row("p99 ms (OK requests)", (x) => fmt(pick(x, "latencyMs", "p99"))),
      row("ejection decided after death ms", (x) => fmt(pick(x, "control", "deadEjectedAfterMs"))),
      row("decision→applied p50 ms", (x) => fmt(pick(x, "control", "decisionToApplied", "p50"), 1)),
      row("decision→applied p99 ms", (x) => fmt(pick(x, "control", "decisionToApplied", "p99"), 1)),
      row("commit→applied p99 ms", (x) => fmt(pick(x, "control", "committedToApplied", "p99"), 1)),
      row("decisions applied", (x) => fmt(pick(x, "control", "applied"))),
      row("failed: min/median/max over runs", (x) => {
        const s = (x.spread as { failedAfterDeath?: { min: number; median: number; max: number } } | undefined)
          ?.failedAfterDeath;
        return s ? `${s.min}/${s.median}/${s.max}` : "-";
      }),
      row("CPU ms / 1k req (fleet)", (x) => fmt(pick(x, "cpuMsPer1000Requests"), 1)),
    ];
  },
};
