/**
 * One evaluation of one cluster: windows + previous state + operator settings + now in,
 * decisions + next state out. Pure: no I/O, no clock but `now`, the input state is not touched
 * (a structured clone is advanced), and the same inputs give the same decisions and ids.
 *
 * Steps: observe (endpoints seen, data times, forecasts, stabilisation windows) -> rules
 * (pins, ejection, weights, forecast, pool tuning; each a module under rules/) -> guardrails
 * -> effects of what went through applied to the state (in dry-run too: the state is what the
 * engine has published; the real baseline comes back when dry-run ends, state.ts) -> decisions.
 */

import { toDecision } from "./explain.js";
import { applyGuardrails, dedupeBlocked, type Guarded } from "./guardrails.js";
import type { RuleContext } from "./rules/context.js";
import { ejectRule } from "./rules/eject.js";
import { advanceForecast, forecastRule } from "./rules/forecast.js";
import { activePins, pinRule } from "./rules/pins.js";
import { advancePool, poolRule } from "./rules/pool-tuning.js";
import { advanceLoad, costOf, weightRule } from "./rules/weights.js";
import { applyEffect, observe, switchDryRun } from "./state.js";
import { clusterStats } from "./stats.js";
import type { EvaluateContext, EvaluateResult } from "./types.js";

export function evaluate(ctx: EvaluateContext): EvaluateResult {
  const { config, now, operator } = ctx;
  const state = structuredClone(ctx.state);
  const dryRun = operator.dryRun.cluster || operator.dryRun.global;
  switchDryRun(state, dryRun, config);
  const weightOf = (ep: string) => state.endpoints[ep]?.weight.value ?? config.weights.defaultWeight;
  const stats = clusterStats(ctx.windows, config, weightOf);
  observe(state, stats, config, now);
  const forecast = advanceForecast(state, stats, config);
  const pool = advancePool(state, stats, config, now);
  advanceLoad(state, stats, config);
  state.lastEvaluatedAt = now;

  const rc: RuleContext = { config, stats, state, now };
  const pins = activePins(operator.pins, now);
  const ejections = config.eject.enabled ? ejectRule(rc) : [];
  const ejecting = new Set(ejections.filter((p) => p.kind === "eject").map((p) => p.endpoint ?? ""));
  const proposals = [
    ...pinRule(rc, pins),
    ...ejections,
    ...(config.weights.enabled ? weightRule(rc, ejecting) : []),
    ...(config.forecast.enabled ? forecastRule(rc, forecast, ejecting) : []),
    ...(config.pool.enabled ? poolRule(rc, pool) : []),
  ];
  const guarded = dedupeBlocked(applyGuardrails(proposals, { config, state, now, operator, pins }), state, now);
  const passed = guarded.filter((g: Guarded) => !g.blocked);
  for (const g of passed) {
    applyEffect(state, g.proposal, now);
    state.changes.push(now);
  }
  const costs: Record<string, number> = {};
  for (const [ep, e] of stats.endpoints) {
    const st = state.endpoints[ep];
    if (st && e.attempts > 0) costs[ep] = costOf(e, st, rc).cost;
  }
  return { decisions: guarded.map((g) => toDecision(g, ctx.windows.cluster, now)), state, costs };
}
