/** Scenario plumbing: one fresh simulator + one system per run, always stopped, failures recorded. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { ProxyInstance, ProxySpec, SystemDef } from "../systems/types.js";
import { errorMessage, progress } from "./log.js";
import { otherCores, snapshot, waitQuiet } from "./machine.js";
import { type RunningSim, type SimEndpointSpec, startSim } from "./sim.js";

export interface Ctx {
  quick: boolean;
  runDir: string;
  /** taskset CPU list for the proxy under test; the harness gets the rest. */
  proxyCpus: string;
  harnessCpus: string | undefined;
  caFile: string;
  caPem: string;
}

export interface Goal {
  /** DESIGN.md section 8 wording. */
  goal: string;
  system: string;
  target: string;
  value: number | string | null;
  met: boolean | null;
  note?: string;
}

export interface ScenarioResult {
  title: string;
  description: string;
  params: Record<string, unknown>;
  /** Figures per system id; `{ error }` when that system failed. */
  systems: Record<string, Record<string, unknown>>;
  goals: Goal[];
  notes: string[];
  durationS?: number;
  error?: string;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: Ctx): Promise<ScenarioResult>;
  /** Rows for the stdout table: metric label and a value per system id. */
  table(r: ScenarioResult): { metric: string; values: Record<string, string> }[];
}

export const DEFAULT_TIMEOUTS = { connectTimeoutMs: 500, requestTimeoutMs: 2_000, healthIntervalMs: 500 };

/** The load generator's target URLs: the proxy's listener, or every simulator endpoint (direct). */
export function targets(inst: ProxyInstance, sim: RunningSim): string[] {
  return inst.port !== undefined
    ? [`http://127.0.0.1:${inst.port}`]
    : sim.endpoints.map((e) => e.url.replace("localhost", "127.0.0.1"));
}

export const directSystem: SystemDef = {
  id: "direct",
  system: "direct",
  label: "direct (no proxy)",
  async start() {
    return {
      system: "direct",
      label: "direct",
      port: undefined,
      pid: undefined,
      readyMs: 0,
      cpuMs: () => 0,
      rssMiB: () => 0,
      stop: async () => {},
    };
  },
};

/**
 * Starts a fresh simulator with `endpoints`, then `def` in front of it, runs `body`, and stops
 * both whatever happens. A failure is returned as `{ error }` so the scenario goes on.
 */
export async function runSystem(
  ctx: Ctx,
  scenario: string,
  def: SystemDef,
  endpoints: SimEndpointSpec[],
  spec: Partial<Omit<ProxySpec, "upstreams" | "workDir" | "cpus">>,
  body: (inst: ProxyInstance, sim: RunningSim) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const only = process.env.BENCH_ONLY?.split(",").map((x) => x.trim());
  if (only && !only.includes(def.id)) return { label: def.label, skipped: true };
  const dir = path.join(ctx.runDir, scenario, def.id);
  mkdirSync(dir, { recursive: true });
  let sim: RunningSim | undefined;
  let inst: ProxyInstance | undefined;
  progress(`${scenario}: ${def.label} ...`);
  try {
    const before = await waitQuiet(0.3, ctx.quick ? 5_000 : 60_000);
    sim = await startSim(endpoints, dir, ctx.harnessCpus);
    const s = sim;
    const full: ProxySpec = {
      ...DEFAULT_TIMEOUTS,
      tls: false,
      caFile: ctx.caFile,
      ...spec,
      upstreams: endpoints.map((e) => ({ name: e.name, port: s.portOf(e.name) })),
      workDir: dir,
      cpus: ctx.proxyCpus,
    };
    inst = await def.start(full);
    const pids = [sim.pid, ...(inst.pid !== undefined ? [inst.pid] : [])];
    const a = snapshot(pids);
    const out = await body(inst, sim);
    const background = otherCores(a, snapshot(pids));
    if (background > 0.3)
      progress(`${scenario}: ${def.label}: other processes used ${background} cores during the run`);
    return {
      label: def.label,
      readyMs: Math.round(inst.readyMs),
      ...out,
      // Cores used by other processes on the machine (before the run, during it): noise indicator.
      backgroundCores: { before, during: background },
    };
  } catch (err) {
    const msg = errorMessage(err);
    progress(`${scenario}: ${def.label} FAILED: ${msg.split("\n")[0]}`);
    return { label: def.label, error: msg, logs: dir };
  } finally {
    await inst?.stop().catch(() => {});
    await sim?.stop().catch(() => {});
  }
}

export function fmt(x: unknown, digits = 2): string {
  if (x === null || x === undefined) return "-";
  if (typeof x === "number") return Number.isInteger(x) ? String(x) : x.toFixed(digits);
  return String(x);
}
