/**
 * Scenario 7 — fleet. Ten proxies of one kind on this machine (a sidecar fleet shares nodes
 * with the applications it serves), 100 rps through each (1,000 rps in all, from ten open-loop
 * load generators in the harness), then CPU starvation: two busy-loop processes, one per core,
 * at the harness's priority, for a few seconds, then normal again.
 *
 * Issue #15 saw ten meshtune proxies collapse for ~30 s at this load (every request timing out
 * at the client's 2 s, retries piling on) where ten HAProxy or ten NGINX served it with no
 * request over 500 ms. Reported per system:
 * - requests over 500 ms (and client errors) in the steady phase and over the whole run;
 * - goodput during the starvation (share of offered requests answered OK within 500 ms);
 * - recovery time: from the end of the starvation to the start of the first 1 s window after
 *   which every 1 s window has ≥ 99 % of its requests OK within 500 ms;
 * - fast refusals (`x-meshtune-error: overloaded` 503s) are counted as errors, not goodput.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { figures, type LoadRun, load } from "../lib/load.js";
import { progress } from "../lib/log.js";
import { type Ctx, fmt, type Goal, rowsOf, runSystem, type Scenario, type ScenarioResult } from "../lib/run.js";
import { haproxySystem } from "../systems/haproxy.js";
import { meshtuneSystem } from "../systems/meshtune.js";
import { nginxSystem } from "../systems/nginx.js";
import type { ProxyInstance, ProxySpec, SystemDef } from "../systems/types.js";
import { fiveEndpoints, pick } from "./common.js";

const PROXIES = 10;
const RPS_EACH = 100;
const SLOW_MS = 500;

/** N instances of one system as one composite instance (ports of each in `ports`). */
function fleetOf(def: SystemDef, n: number): SystemDef {
  return {
    id: def.id,
    system: def.system,
    label: `${def.label} ×${n}`,
    async start(spec: ProxySpec): Promise<ProxyInstance> {
      const insts = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const workDir = path.join(spec.workDir, `p${i}`);
          mkdirSync(workDir, { recursive: true });
          return def.start({ ...spec, workDir });
        }),
      );
      return {
        system: def.system,
        label: `${def.label} ×${n}`,
        port: insts[0]?.port,
        ports: insts.map((x) => x.port ?? 0),
        pid: insts[0]?.pid,
        readyMs: Math.max(...insts.map((x) => x.readyMs)),
        cpuMs: () => insts.reduce((a, x) => a + x.cpuMs(), 0),
        rssMiB: () => insts.reduce((a, x) => a + x.rssMiB(), 0),
        clusters: async () => Promise.all(insts.map((x) => x.clusters?.().catch(() => null) ?? null)),
        stop: async () => {
          await Promise.all(insts.map((x) => x.stop()));
        },
      };
    },
  };
}

/** Two busy loops (one per core) that end by themselves after `ms`: bounded CPU starvation. */
function starve(ms: number, cores: number): Promise<void> {
  const code = `const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) { x++; }`;
  return Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<void>((resolve) => {
          const c = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
          c.once("exit", () => resolve());
          c.once("error", () => resolve());
        }),
    ),
  ).then(() => undefined);
}

interface Phases {
  steadyMs: number;
  starveMs: number;
  afterMs: number;
}

function analyse(runs: LoadRun[], ph: Phases) {
  const samples = runs.flatMap((r) => r.samples);
  const good = (s: { ok: boolean; latency: number }) => s.ok && s.latency <= SLOW_MS;
  const starveStart = ph.steadyMs;
  const starveEnd = ph.steadyMs + ph.starveMs;
  const steady = samples.filter((s) => s.at < starveStart);
  const starved = samples.filter((s) => s.at >= starveStart && s.at < starveEnd);
  const slow = (xs: typeof samples) => xs.filter((s) => !s.error && s.latency > SLOW_MS).length;
  const bad = (xs: typeof samples) => xs.filter((s) => !s.ok).length;
  // 1 s windows after the starvation ended; recovery = start of the first window from which
  // every later window is ≥ 99 % good.
  const total = ph.steadyMs + ph.starveMs + ph.afterMs;
  const windows: number[] = [];
  for (let t = starveEnd; t + 1000 <= total; t += 1000) {
    const w = samples.filter((s) => s.at >= t && s.at < t + 1000);
    windows.push(w.length === 0 ? 1 : w.filter(good).length / w.length);
  }
  let recoveredAt: number | null = null;
  for (let i = windows.length - 1; i >= 0; i--) {
    if ((windows[i] ?? 0) < 0.99) break;
    recoveredAt = i;
  }
  const overloaded = samples.filter((s) => s.status === 503).length;
  const bySecond: number[] = Array.from({ length: Math.ceil(total / 1000) }, () => 0);
  for (const s of samples) if (!good(s)) bySecond[Math.floor(s.at / 1000)]! += 1;
  return {
    steady: { requests: steady.length, over500ms: slow(steady), clientErrors: bad(steady) },
    starved: {
      requests: starved.length,
      goodput: starved.length ? Math.round((starved.filter(good).length / starved.length) * 1000) / 1000 : null,
      over500ms: slow(starved),
      clientErrors: bad(starved),
    },
    whole: { requests: samples.length, over500ms: slow(samples), clientErrors: bad(samples), status503: overloaded },
    recoverySeconds: recoveredAt,
    windowsAfterStarvation: windows.map((x) => Math.round(x * 1000) / 1000),
    notGoodBySecond: bySecond,
  };
}

export const fleet: Scenario = {
  name: "fleet",
  title: "Fleet of ten proxies × 100 rps, then CPU starvation",
  async run(ctx: Ctx): Promise<ScenarioResult> {
    const ph: Phases = ctx.quick
      ? { steadyMs: 5_000, starveMs: 3_000, afterMs: 6_000 }
      : { steadyMs: 10_000, starveMs: 5_000, afterMs: 10_000 };
    const systems = [
      fleetOf(meshtuneSystem("meshtune", "meshtune"), PROXIES),
      fleetOf(haproxySystem(), PROXIES),
      fleetOf(nginxSystem(), PROXIES),
    ];
    const endpoints = fiveEndpoints({ latency: { dist: "fixed", ms: 1 } });
    const out: Record<string, Record<string, unknown>> = {};
    const totalMs = ph.steadyMs + ph.starveMs + ph.afterMs;
    for (const def of systems) {
      out[def.id] = await runSystem(
        ctx,
        "fleet",
        def,
        endpoints,
        {},
        async (inst) => {
          const ports = inst.ports ?? [];
          const cpu0 = inst.cpuMs();
          const loads = Promise.all(
            ports.map((p) =>
              load({ urls: [`http://127.0.0.1:${p}`], rps: RPS_EACH, durationMs: totalMs, timeoutMs: 2_000 }),
            ),
          );
          const hog = new Promise<void>((r) => setTimeout(r, ph.steadyMs)).then(() => starve(ph.starveMs, 2));
          const [runs] = await Promise.all([loads, hog]);
          const a = analyse(runs, ph);
          // meshtune: what admission control did in each proxy (lag, requests shed).
          const admin = (await inst.clusters?.().catch(() => undefined)) as
            | { admission?: { shedInFlight: number; shedLag: number; lagMs: number } | null }[]
            | undefined;
          const shed = admin
            ? admin.reduce((n, x) => n + (x?.admission ? x.admission.shedInFlight + x.admission.shedLag : 0), 0)
            : undefined;
          const f = figures({ report: runs[0]!.report, samples: runs.flatMap((r) => r.samples) }, () => true);
          progress(
            `fleet: ${def.label}: steady >500ms ${a.steady.over500ms}, starved goodput ${fmt(a.starved.goodput, 3)}, ` +
              `recovery ${fmt(a.recoverySeconds)} s, errors ${a.whole.clientErrors}`,
          );
          return {
            ...a,
            ...(shed !== undefined ? { admissionShed: shed } : {}),
            latencyMs: f.latencyMs,
            statuses: f.statuses,
            errors: f.errors,
            cpuMsPer1000Requests: Math.round(((inst.cpuMs() - cpu0) / Math.max(1, a.whole.requests)) * 1000 * 10) / 10,
            rssMiB: inst.rssMiB(),
          };
        },
        { remeasure: false },
      );
    }
    const slowOf = (id: string) => pick(out[id], "steady", "over500ms");
    const m = slowOf("meshtune");
    const h = slowOf("haproxy");
    const rec = pick(out.meshtune, "recoverySeconds");
    const goals: Goal[] = [
      {
        goal: "ten proxies × 100 rps: no more requests over 500 ms than ten HAProxy instances",
        system: "meshtune",
        target: `≤ HAProxy's (${fmt(h)})`,
        value: m ?? null,
        met: m === undefined || h === undefined ? null : m <= h,
      },
      {
        goal: "recovery after CPU starvation within a few seconds",
        system: "meshtune",
        target: "≤ 3 s",
        value: rec ?? null,
        met: rec === undefined ? null : rec <= 3,
      },
    ];
    return {
      title: this.title,
      description: `${PROXIES} proxies of each kind, ${RPS_EACH} rps through each (open loop, client timeout 2 s), five 1 ms endpoints; after ${ph.steadyMs / 1000} s two busy loops starve both cores for ${ph.starveMs / 1000} s. Good = OK within ${SLOW_MS} ms.`,
      params: { proxies: PROXIES, rpsEach: RPS_EACH, ...ph, slowMs: SLOW_MS },
      systems: out,
      goals,
      notes: [],
    };
  },
  table(r) {
    const row = rowsOf(r);
    return [
      row("steady: requests > 500 ms", (x) => fmt(pick(x, "steady", "over500ms"))),
      row("steady: client errors", (x) => fmt(pick(x, "steady", "clientErrors"))),
      row("starved: goodput", (x) => fmt(pick(x, "starved", "goodput"), 3)),
      row("whole run: > 500 ms", (x) => fmt(pick(x, "whole", "over500ms"))),
      row("whole run: client errors", (x) => fmt(pick(x, "whole", "clientErrors"))),
      row("recovery s", (x) => fmt(pick(x, "recoverySeconds"))),
      row("fast 503 (admission)", (x) => fmt(pick(x, "admissionShed"))),
      row("CPU ms / 1k req (fleet)", (x) => fmt(pick(x, "cpuMsPer1000Requests"), 1)),
      row("RSS MiB (fleet)", (x) => fmt(pick(x, "rssMiB"), 0)),
    ];
  },
};
