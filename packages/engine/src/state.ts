/**
 * Engine state lifecycle: a fresh state, parsing what Redis held (a state of another schema
 * version is dropped, not guessed at: the engine relearns within one window), per-evaluation
 * bookkeeping (endpoints seen, data times, forgetting), and applying a proposal's effect.
 */
import type { EngineConfig } from "./config.js";
import { EMPTY_HOLT } from "./holt.js";
import type { ClusterStats } from "./stats.js";
import {
  type DryRunBaseline,
  ENGINE_STATE_SCHEMA,
  type EndpointState,
  type EngineState,
  type Proposal,
  type TargetState,
} from "./types.js";

export function initialState(): EngineState {
  return { schema: ENGINE_STATE_SCHEMA, endpoints: {}, cluster: {}, changes: [], blocked: {} };
}

export function target(value: number): TargetState {
  return { value, direction: 0, recs: [] };
}

export function initialEndpoint(now: number, config: EngineConfig): EndpointState {
  return {
    firstSeenAt: now,
    lastDataAt: now,
    lastSeenAt: now,
    ejection: { status: "active", count: 0, reporters: [] },
    weight: target(config.weights.defaultWeight),
    minWarm: target(config.forecast.minWarm),
    preconnect: target(config.forecast.minWarm),
    holt: { ...EMPTY_HOLT },
  };
}

/** Parses stored JSON; anything unreadable or of another schema gives a fresh state. */
export function parseEngineState(json: string | null | undefined): EngineState {
  if (!json) return initialState();
  try {
    const v = JSON.parse(json) as Partial<EngineState> | null;
    if (!v || v.schema !== ENGINE_STATE_SCHEMA || typeof v.endpoints !== "object") return initialState();
    return { ...initialState(), ...v } as EngineState;
  } catch {
    return initialState();
  }
}

/** Adds endpoints seen for the first time, records data times, forgets long-silent endpoints. */
export function observe(state: EngineState, stats: ClusterStats, config: EngineConfig, now: number): void {
  for (const e of stats.endpoints.values()) {
    const st = state.endpoints[e.endpoint] ?? initialEndpoint(now, config);
    state.endpoints[e.endpoint] = st;
    // Weights expire on attempts (what they are computed from); forgetting waits for silence.
    if (e.attempts > 0) st.lastDataAt = now;
    if (e.attempts > 0 || e.hardSignals.length > 0 || e.proxies > 0) st.lastSeenAt = now;
  }
  for (const [ep, st] of Object.entries(state.endpoints)) {
    const silent = now - (st.lastSeenAt ?? st.lastDataAt) >= config.forgetMs;
    if (silent && st.ejection.status === "active" && st.weight.value === config.weights.defaultWeight) {
      delete state.endpoints[ep];
    }
  }
  state.changes = state.changes.filter((t) => now - t < 60_000);
  for (const [k, b] of Object.entries(state.blocked)) {
    if (now - b.at >= config.guardrails.blockedRepeatMs) delete state.blocked[k];
  }
}

function move(t: TargetState, value: number, now: number): void {
  t.direction = value > t.value ? 1 : value < t.value ? -1 : 0;
  t.value = value;
  t.changedAt = now;
}

/** Applies a proposal that went through the guardrails (dry-run too: the state is what the engine has published). */
export function applyEffect(state: EngineState, p: Proposal, now: number): void {
  const e = p.effect;
  const st = p.endpoint ? state.endpoints[p.endpoint] : undefined;
  switch (e.type) {
    case "eject":
      if (!st) return;
      st.ejection = {
        ...st.ejection,
        status: "ejected",
        count: e.count,
        since: st.ejection.status === "ejected" ? st.ejection.since : now,
        until: e.until,
        reason: e.reason,
        evidence: e.evidence,
        reporters: e.reporters,
        changedAt: st.ejection.status === "ejected" ? st.ejection.changedAt : now,
      };
      return;
    case "uneject":
      if (!st) return;
      st.ejection = { status: "active", count: st.ejection.count, reporters: [], lastUnejectedAt: now, changedAt: now };
      return;
    case "weight":
      if (st) move(st.weight, e.value, now);
      return;
    case "minWarm":
      if (st) move(st.minWarm, e.value, now);
      return;
    case "preconnect":
      if (st) move(st.preconnect, e.value, now);
      return;
    case "connectTimeout":
      state.cluster.connectTimeoutMs ??= target(e.value);
      move(state.cluster.connectTimeoutMs, e.value, now);
      return;
    case "poolLimits":
      state.cluster.maxConnections ??= target(e.maxConnections);
      state.cluster.maxPending ??= target(e.maxPending);
      move(state.cluster.maxConnections, e.maxConnections, now);
      move(state.cluster.maxPending, e.maxPending, now);
      return;
  }
}

/** Dry-run bookkeeping: keep what was really pushed when dry-run starts; give it back when it ends. */
export function switchDryRun(state: EngineState, dryRun: boolean, config: EngineConfig): void {
  if (dryRun && !state.dryRunBaseline) {
    const endpoints: DryRunBaseline["endpoints"] = {};
    for (const [ep, st] of Object.entries(state.endpoints)) {
      endpoints[ep] = structuredClone({
        ejection: st.ejection,
        weight: st.weight,
        minWarm: st.minWarm,
        preconnect: st.preconnect,
      });
    }
    state.dryRunBaseline = { endpoints, cluster: structuredClone(state.cluster) };
  } else if (!dryRun && state.dryRunBaseline) {
    const base = state.dryRunBaseline;
    for (const [ep, st] of Object.entries(state.endpoints)) {
      const b = base.endpoints[ep];
      st.ejection = b ? b.ejection : { status: "active", count: 0, reporters: [] };
      st.weight = b ? b.weight : target(config.weights.defaultWeight);
      st.minWarm = b ? b.minWarm : target(config.forecast.minWarm);
      st.preconnect = b ? b.preconnect : target(config.forecast.minWarm);
    }
    state.cluster = base.cluster;
    delete state.dryRunBaseline;
  }
}
