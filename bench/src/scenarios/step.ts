/**
 * Scenario 5 — a 10× traffic step (50 → 500 rps). Upstreams are HTTPS with a 20 ms
 * handshake delay (tlsDelayMs, a WAN-like connection cost) and a fixed 40 ms response time:
 * 50 rps need about one connection in use per endpoint, 500 rps about four, so the step needs
 * connections beyond the warm floor (minWarm 2), and a request that has to wait for a new one
 * shows it. Two measures:
 * - connection wait ≈ client latency − 40 ms upstream time, for every system (includes the
 *   proxy's own overhead, so it is an upper bound of the pool wait);
 * - meshtune's exact pool wait per upstream attempt (acquire → connection), recorded by the
 *   instrumented launcher's onAttempt hook, for the seconds after the step.
 */
import { figures, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import {
  type Ctx,
  fmt,
  type Goal,
  rowsOf,
  runSystem,
  type Scenario,
  type ScenarioResult,
  targets,
} from "../lib/run.js";
import { summarize } from "../lib/stats.js";
import { haproxySystem } from "../systems/haproxy.js";
import { meshtuneSystem } from "../systems/meshtune.js";
import { nginxSystem } from "../systems/nginx.js";
import type { PoolWaitSummary } from "../systems/types.js";
import { fiveEndpoints, pick } from "./common.js";

const LOW = 50;
const HIGH = 500;
const UPSTREAM_MS = 40;
const TLS_DELAY_MS = 20;

export const step: Scenario = {
  name: "step",
  title: "10× traffic step (50 → 500 rps)",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const preS = ctx.quick ? 2 : 6;
    const postS = ctx.quick ? 2 : 6;
    const systems = [
      meshtuneSystem("meshtune", "meshtune", { probe: true }),
      meshtuneSystem("meshtune-no-predictive", "meshtune (predictiveScaleUp off)", {
        probe: true,
        coordination: { predictiveScaleUp: false },
      }),
      haproxySystem(),
      nginxSystem(),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: UPSTREAM_MS }, tlsDelayMs: TLS_DELAY_MS }, "https");
    const out: Record<string, Record<string, unknown>> = {};
    for (const def of systems) {
      out[def.id] = await runSystem(ctx, "step", def, endpoints, { tls: true }, async (inst, sim) => {
        const stepAt = preS * 1000;
        let preWait: Promise<PoolWaitSummary | undefined> = Promise.resolve(undefined);
        let firstSecondWait: Promise<PoolWaitSummary | undefined> = Promise.resolve(undefined);
        // Pool wait is read (and reset) at the step, and read again one second after it.
        const timer2 = setTimeout(() => {
          firstSecondWait = inst.poolWait ? inst.poolWait(false).catch(() => undefined) : Promise.resolve(undefined);
        }, stepAt + 1_000);
        const timer = setTimeout(() => {
          preWait = inst.poolWait ? inst.poolWait(true).catch(() => undefined) : Promise.resolve(undefined);
        }, stepAt);
        const run = await load({
          urls: targets(inst, sim),
          stages: [
            { durationMs: stepAt, rps: LOW },
            { durationMs: postS * 1000, rps: HIGH },
          ],
        }).finally(() => {
          clearTimeout(timer);
          clearTimeout(timer2);
        });
        const pre = figures(run, (s) => s.at < stepAt);
        const post = figures(run, (s) => s.at >= stepAt);
        const excess = (from: number, to: number) =>
          summarize(
            run.samples
              .filter((s) => s.at >= from && s.at < to && s.error === undefined)
              .map((s) => Math.max(0, s.latency - UPSTREAM_MS)),
          );
        const postExcess = excess(stepAt, Number.POSITIVE_INFINITY);
        const firstSecond = excess(stepAt, stepAt + 1000);
        const paidHandshake = run.samples.filter(
          (s) => s.at >= stepAt && s.error === undefined && s.latency - UPSTREAM_MS >= TLS_DELAY_MS / 2,
        ).length;
        const poolWaitPre = await preWait;
        const poolWaitFirstSecond = await firstSecondWait;
        const poolWaitPost = inst.poolWait ? await inst.poolWait(false) : undefined;
        const stats = await sim.status();
        const accepted = stats.reduce((a, e) => a + e.stats.connectionsAccepted, 0);
        progress(
          `step: ${def.label}: wait excess p99 after step ${fmt(postExcess.p99)} ms` +
            (poolWaitPost
              ? `, pool-wait p99 ${fmt(poolWaitPost.p99, 3)} ms (${poolWaitPost.waited} of ${poolWaitPost.attempts} waited)`
              : "") +
            `, errors ${pre.clientErrors + post.clientErrors}`,
        );
        return {
          before: pre,
          after: post,
          waitExcessAfterStepMs: postExcess,
          waitExcessFirstSecondMs: firstSecond,
          requestsPayingHandshakeAfterStep: paidHandshake,
          poolWaitBeforeStepMs: poolWaitPre ?? null,
          poolWaitAfterStepMs: poolWaitPost ?? null,
          poolWaitFirstSecondAfterStepMs: poolWaitFirstSecond ?? null,
          upstreamConnectionsOpened: accepted,
          clientErrors: pre.clientErrors + post.clientErrors,
        };
      });
    }
    const pw = pick(out.meshtune, "poolWaitAfterStepMs", "p99");
    const pw1 = pick(out.meshtune, "poolWaitFirstSecondAfterStepMs", "p99");
    const goals: Goal[] = [
      {
        goal: "10× traffic step: pool-wait p99 < 1 ms with predictive scale-up",
        system: "meshtune",
        target: "< 1 ms",
        value: pw ?? null,
        met: pw === undefined ? null : pw < 1,
        note: `meshtune's own pool wait per upstream attempt over the ${postS} s after the step (instrumented launcher)`,
      },
      {
        goal: "10× traffic step: pool-wait p99 < 1 ms with predictive scale-up (first second after the step)",
        system: "meshtune",
        target: "< 1 ms",
        value: pw1 ?? null,
        met: pw1 === undefined ? null : pw1 < 1,
        note:
          "the same over the first second only, where a step hurts; predictiveScaleUp off gives " +
          `${fmt(pick(out["meshtune-no-predictive"], "poolWaitFirstSecondAfterStepMs", "p99"), 3)} ms`,
      },
    ];
    return {
      title: this.title,
      description: `Five HTTPS endpoints (${UPSTREAM_MS} ms responses, ${TLS_DELAY_MS} ms added to every new connection's TLS handshake). Open-loop ${LOW} rps for ${preS} s, then ${HIGH} rps for ${postS} s.`,
      params: { lowRps: LOW, highRps: HIGH, preS, postS, upstreamMs: UPSTREAM_MS, tlsDelayMs: TLS_DELAY_MS },
      systems: out,
      goals,
      notes: [
        "Connection wait (client latency − upstream time) includes each proxy's own overhead; HAProxy and NGINX expose no pool-wait figure, so it is the like-for-like measure.",
      ],
    };
  },
  table(r) {
    const row = rowsOf(r);
    return [
      row("pool-wait p99 ms, after step", (x) => fmt(pick(x, "poolWaitAfterStepMs", "p99"), 3)),
      row("pool-wait p99 ms, 1st second", (x) => fmt(pick(x, "poolWaitFirstSecondAfterStepMs", "p99"), 3)),
      row("latency−upstream p99, after", (x) => fmt(pick(x, "waitExcessAfterStepMs", "p99"))),
      row("latency−upstream p99, 1st s", (x) => fmt(pick(x, "waitExcessFirstSecondMs", "p99"))),
      row("slow requests (≥ handshake) after step", (x) => fmt(pick(x, "requestsPayingHandshakeAfterStep"), 0)),
      row("client errors", (x) => fmt(pick(x, "clientErrors"), 0)),
    ];
  },
};
