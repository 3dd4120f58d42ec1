import type { Decision } from "@meshtune/contracts";
import {
  type EngineConfigInput,
  type EngineState,
  evaluate,
  initialState,
  NO_OPERATOR_SETTINGS,
  type OperatorSettings,
  resolveEngineConfig,
} from "../src/index.js";
import { FleetSim, type FleetSimOptions } from "../src/sim/index.js";

export interface LoopResult {
  decisions: Decision[];
  state: EngineState;
  sim: FleetSim;
  start: number;
}

/** Runs the closed loop (simulated fleet -> engine -> fleet) for `seconds`, one evaluation per second. */
export function runLoop(
  opts: FleetSimOptions & { seconds: number; config?: EngineConfigInput; operator?: (t: number) => OperatorSettings },
): LoopResult {
  const sim = new FleetSim(opts);
  const start = sim.now;
  const config = resolveEngineConfig(opts.config);
  let state = initialState();
  const decisions: Decision[] = [];
  for (let t = 0; t < opts.seconds; t++) {
    const windows = sim.step();
    const operator = opts.operator?.(t) ?? NO_OPERATOR_SETTINGS;
    const r = evaluate({ config, windows, state, now: windows.at, operator });
    state = r.state;
    decisions.push(...r.decisions);
    sim.apply(r.decisions);
  }
  return { decisions, state, sim, start };
}

export const applied = (ds: readonly Decision[]) =>
  ds.filter((d) => !d.dryRun && !d.guardrails?.some((g) => g.action === "blocked"));
export const at = (d: Decision) => Date.parse(d.decidedAt);
