/**
 * Scenario 3 — one of five endpoints black-holed from the start (TCP accepted by the kernel,
 * nothing ever read or answered). Start the proxy, wait until it says it is ready (meshtune:
 * /ready = 200; HAProxy, NGINX: listener accepts), then run load at once. Count client errors
 * and requests that waited at least the connect timeout (latency ≥ connectTimeoutMs): each of
 * those sat on the black hole until a timeout moved it elsewhere.
 */
import { figures, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import {
  type Ctx,
  DEFAULT_TIMEOUTS,
  fmt,
  type Goal,
  rowsOf,
  runSystem,
  type Scenario,
  type ScenarioResult,
  targets,
} from "../lib/run.js";
import { haproxySystem } from "../systems/haproxy.js";
import { meshtuneSystem } from "../systems/meshtune.js";
import { nginxSystem } from "../systems/nginx.js";
import { fiveEndpoints, pick } from "./common.js";

const RPS = 500;
const BLACKHOLED = "e3";

export const blackhole: Scenario = {
  name: "blackhole",
  title: "One of five endpoints black-holed at start",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const durS = ctx.quick ? 3 : 10;
    const threshold = DEFAULT_TIMEOUTS.connectTimeoutMs;
    const systems = [
      meshtuneSystem("meshtune", "meshtune", { probe: true }),
      meshtuneSystem("meshtune-no-warmup-eject", "meshtune (warmupFailureEjects off)", {
        probe: true,
        coordination: { warmupFailureEjects: false },
      }),
      haproxySystem(),
      nginxSystem(),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: 1 } }, "http1", {
      [BLACKHOLED]: { blackHole: true },
    });
    const out: Record<string, Record<string, unknown>> = {};
    for (const def of systems) {
      out[def.id] = await runSystem(ctx, "blackhole", def, endpoints, {}, async (inst, sim) => {
        const run = await load({ urls: targets(inst, sim), rps: RPS, durationMs: durS * 1000, timeoutMs: 10_000 });
        const f = figures(run);
        const slow = run.samples.filter((s) => s.latency >= threshold);
        const firstSlowAt = slow.length > 0 ? Math.round(slow[0]!.at) : null;
        const lastSlowAt = slow.length > 0 ? Math.round(slow[slow.length - 1]!.at) : null;
        const stats = await sim.status();
        const held = stats.find((e) => e.name === BLACKHOLED)?.stats;
        progress(
          `blackhole: ${def.label}: client errors ${f.clientErrors}, waited ≥ ${threshold} ms: ${slow.length}, p99 ${fmt(f.latencyMs.p99)} ms, max ${fmt(f.latencyMs.max)} ms`,
        );
        return {
          ...f,
          waitedAtLeastConnectTimeout: slow.length,
          firstSlowAtMs: firstSlowAt,
          lastSlowAtMs: lastSlowAt,
          blackHoleRequestsHeld: held?.blackHoled ?? null,
          blackHoleConnectionsAccepted: held?.connectionsAccepted ?? null,
          clusters: inst.clusters ? summarizeClusters(await inst.clusters().catch(() => null)) : undefined,
        };
      });
    }
    const goals: Goal[] = [];
    const m = out.meshtune;
    const mErr = pick(m, "clientErrors");
    const mSlow = pick(m, "waitedAtLeastConnectTimeout");
    goals.push({
      goal: "one of five black-holed at start: zero client errors",
      system: "meshtune",
      target: "0",
      value: mErr ?? null,
      met: mErr === undefined ? null : mErr === 0,
    });
    goals.push({
      goal: "one of five black-holed at start: no request waits on its connect timeout",
      system: "meshtune",
      target: "0",
      value: mSlow ?? null,
      met: mSlow === undefined ? null : mSlow === 0,
    });
    for (const id of ["haproxy", "nginx"]) {
      const s = pick(out[id], "waitedAtLeastConnectTimeout");
      goals.push({
        goal: `claim: ${id === "haproxy" ? "HAProxy" : "NGINX"} lets one or more requests wait`,
        system: id,
        target: "≥ 1 (claim, not our goal)",
        value: s ?? null,
        met: s === undefined ? null : s >= 1,
      });
    }
    return {
      title: this.title,
      description: `Five http1 endpoints (1 ms), ${BLACKHOLED} black-holed from the start; load (${RPS} rps, ${durS} s) starts as soon as the system reports ready. Counts client errors and requests with latency ≥ the connect timeout (${threshold} ms). Timeouts: connect ${threshold} ms, upstream response ${DEFAULT_TIMEOUTS.requestTimeoutMs} ms, health checks every ${DEFAULT_TIMEOUTS.healthIntervalMs} ms.`,
      params: { rps: RPS, durationS: durS, blackHoled: BLACKHOLED, ...DEFAULT_TIMEOUTS },
      systems: out,
      goals,
      notes: [
        "The simulator's kernel completes the TCP handshake for a black-holed endpoint, so a black hole costs the response timeout, not a connect failure, for every proxy.",
      ],
    };
  },
  table(r) {
    const row = rowsOf(r);
    return [
      row("client errors", (x) => fmt(pick(x, "clientErrors"), 0)),
      row("waited ≥ connect timeout", (x) => fmt(pick(x, "waitedAtLeastConnectTimeout"), 0)),
      row("p99 ms", (x) => fmt(pick(x, "latencyMs", "p99"))),
      row("max ms", (x) => fmt(pick(x, "latencyMs", "max"), 0)),
      row("ready after ms", (x) => fmt(pick(x, "readyMs"), 0)),
    ];
  },
};

/** Per-endpoint flags and warm-up state from meshtune's /clusters, for the JSON. */
export function summarizeClusters(c: unknown): unknown {
  const clusters = (c as { clusters?: { endpoints?: Record<string, unknown>[] }[] } | null)?.clusters;
  if (!clusters?.[0]?.endpoints) return null;
  return clusters[0].endpoints.map((e) => ({
    endpoint: e.endpoint,
    available: e.available,
    flags: e.flags,
    requestsTotal: e.requestsTotal,
    warmup: e.warmup,
    pool: e.pool,
  }));
}
