import type { EngineConfig } from "../config.js";
import type { ClusterStats } from "../stats.js";
import type { EngineState } from "../types.js";

/** What every rule reads: it never writes the state (the guardrails decide what goes through). */
export interface RuleContext {
  config: EngineConfig;
  stats: ClusterStats;
  state: EngineState;
  now: number;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
