/**
 * Guardrails (issue #10; DESIGN.md section 3). Every proposal passes, in this order:
 * 1. kill switch (global, then per cluster): the engine's own rules change nothing; operator
 *    pins still pass, they are the operator's hand, not the engine's;
 * 2. pins: no rule touches a pinned weight or ejection, nor anything of a frozen endpoint;
 * 3. dwell: no reversal of a change younger than dwellMs (weight up then down, scale down right
 *    after a scale-up, a soft re-ejection right after an un-ejection). Hard-failure ejections
 *    and scale-ups are exempt: safety and HPA's "up at once" outrank churn;
 * 4. max-ejection-percent and panic threshold: an ejection goes ahead only when
 *    ejected + 1 ≤ floor(total × maxEjectionPercent / 100) and
 *    total − (ejected + 1) ≥ ceil(total × panicThresholdPercent / 100) (Envoy's
 *    max_ejection_percent; healthy_panic_threshold as a floor on healthy endpoints);
 * 5. rate limit: at most maxChangesPerMinute changes per cluster in any 60 s; hard ejections
 *    and pins are exempt (they count, but a dying endpoint must never wait behind weights);
 * 6. dry-run: everything that passed is published with dryRun true and a "dry-run" entry.
 * Proposals are taken in priority order (pins, un-ejections, hard ejections, soft ejections,
 * cluster tuning, pool targets, weights), then by endpoint, so the result is deterministic.
 * A blocked proposal identical to one recorded less than blockedRepeatMs ago is dropped, so a
 * standing block (kill switch, cap) is recorded once a minute, not every second.
 */
import type { EndpointPin } from "@meshtune/contracts";
import type { EngineConfig } from "./config.js";
import type { EngineState, GuardrailEntry, OperatorSettings, Proposal } from "./types.js";
import { RULES } from "./types.js";

export interface GuardrailContext {
  config: EngineConfig;
  state: EngineState;
  now: number;
  operator: OperatorSettings;
  pins: Record<string, EndpointPin>;
}

export interface Guarded {
  proposal: Proposal;
  guardrails: GuardrailEntry[];
  blocked: boolean;
  dryRun: boolean;
}

function priority(p: Proposal): number {
  if (p.rule === RULES.operatorPin) return 0;
  if (p.kind === "uneject") return 1;
  if (p.kind === "eject") return p.urgent ? 2 : 3;
  if (p.kind === "set_connect_timeout" || p.kind === "set_pool_limits") return 4;
  if (p.kind === "set_pool_min" || p.kind === "set_preconnect") return 5;
  return 6;
}

const block = (name: string, detail: string): GuardrailEntry => ({ name, action: "blocked", detail });

function killSwitch(p: Proposal, g: GuardrailContext): GuardrailEntry | undefined {
  if (p.rule === RULES.operatorPin) return undefined;
  if (g.operator.killSwitch.global)
    return block("kill-switch", "the global kill switch is on: the engine changes nothing");
  if (g.operator.killSwitch.cluster)
    return block("kill-switch", "the cluster's kill switch is on: the engine changes nothing");
  return undefined;
}

function pinned(p: Proposal, g: GuardrailContext): GuardrailEntry | undefined {
  const pin = p.endpoint ? g.pins[p.endpoint] : undefined;
  if (!pin || p.rule === RULES.operatorPin) return undefined;
  const by = pin.by ? ` by ${pin.by}` : "";
  if (pin.freeze) return block("pin", `the endpoint is frozen${by}: the engine changes nothing on it`);
  if (pin.weight !== undefined && p.kind === "set_weight") return block("pin", `weight pinned to ${pin.weight}${by}`);
  if (pin.ejected !== undefined && (p.kind === "eject" || p.kind === "uneject"))
    return block("pin", `ejection pinned to ${pin.ejected}${by}`);
  return undefined;
}

function dwell(p: Proposal, g: GuardrailContext): GuardrailEntry | undefined {
  if (p.urgent) return undefined;
  const d = g.config.guardrails.dwellMs;
  const st = p.endpoint ? g.state.endpoints[p.endpoint] : undefined;
  const young = (at: number | undefined) => at !== undefined && g.now - at < d;
  const msg = (what: string, at: number) =>
    block("dwell", `${what} ${Math.round((g.now - at) / 1000)} s ago; a reversal waits ${d / 1000} s`);
  if (p.kind === "eject" && st && st.ejection.status === "active" && young(st.ejection.lastUnejectedAt))
    return msg("un-ejected", st.ejection.lastUnejectedAt ?? g.now);
  if (p.direction !== -1 && p.kind !== "set_weight") return undefined;
  const t =
    p.kind === "set_weight"
      ? st?.weight
      : p.kind === "set_pool_min"
        ? st?.minWarm
        : p.kind === "set_preconnect"
          ? st?.preconnect
          : p.kind === "set_connect_timeout"
            ? g.state.cluster.connectTimeoutMs
            : p.kind === "set_pool_limits"
              ? g.state.cluster.maxConnections
              : undefined;
  if (t && t.direction === -p.direction && young(t.changedAt))
    return msg(`changed the other way (${t.direction > 0 ? "up" : "down"})`, t.changedAt ?? g.now);
  return undefined;
}

interface Counters {
  total: number;
  ejected: number;
  changes: number;
}

function cap(p: Proposal, g: GuardrailContext, c: Counters): GuardrailEntry | undefined {
  if (p.kind !== "eject" || p.rule === RULES.operatorPin) return undefined;
  const st = p.endpoint ? g.state.endpoints[p.endpoint] : undefined;
  if (st?.ejection.status === "ejected") return undefined; // a renewal ejects no one new
  const e = g.config.eject;
  const maxEjected = Math.floor((c.total * e.maxEjectionPercent) / 100);
  const minHealthy = Math.ceil((c.total * e.panicThresholdPercent) / 100);
  if (c.ejected + 1 > maxEjected)
    return block(
      "max-ejection-percent",
      `${c.ejected} of ${c.total} endpoints already ejected; at most ${e.maxEjectionPercent}% (${maxEjected}) may be`,
    );
  if (c.total - (c.ejected + 1) < minHealthy)
    return block(
      "panic-threshold",
      `ejecting would leave ${c.total - c.ejected - 1} of ${c.total} endpoints, below the panic threshold of ${e.panicThresholdPercent}% (${minHealthy})`,
    );
  return undefined;
}

function rateLimit(p: Proposal, g: GuardrailContext, c: Counters): GuardrailEntry | undefined {
  const max = g.operator.maxChangesPerMinute ?? g.config.guardrails.maxChangesPerMinute;
  if (p.urgent || c.changes < max) return undefined;
  return block("rate-limit", `${c.changes} changes in the last 60 s; at most ${max} per minute`);
}

export function applyGuardrails(proposals: readonly Proposal[], g: GuardrailContext): Guarded[] {
  const sorted = [...proposals].sort(
    (a, b) =>
      priority(a) - priority(b) || (a.endpoint ?? "").localeCompare(b.endpoint ?? "") || a.kind.localeCompare(b.kind),
  );
  const counters: Counters = {
    total: Object.keys(g.state.endpoints).length,
    ejected: Object.values(g.state.endpoints).filter((s) => s.ejection.status === "ejected").length,
    changes: g.state.changes.length,
  };
  const dryRun = g.operator.dryRun.cluster || g.operator.dryRun.global;
  const out: Guarded[] = [];
  for (const p of sorted) {
    const hit = killSwitch(p, g) ?? pinned(p, g) ?? dwell(p, g) ?? cap(p, g, counters) ?? rateLimit(p, g, counters);
    const guardrails = [...p.guardrails];
    if (hit) {
      guardrails.push(hit);
      out.push({ proposal: p, guardrails, blocked: true, dryRun });
      continue;
    }
    counters.changes++;
    const st = p.endpoint ? g.state.endpoints[p.endpoint] : undefined;
    if (p.kind === "eject" && st?.ejection.status !== "ejected") counters.ejected++;
    if (p.kind === "uneject" && st?.ejection.status === "ejected") counters.ejected--;
    if (dryRun) {
      const where = g.operator.dryRun.global ? "global" : "cluster";
      guardrails.push(block("dry-run", `${where} dry-run is on: published for review, not applied`));
    }
    out.push({ proposal: p, guardrails, blocked: false, dryRun });
  }
  return out;
}

/** Drops blocked decisions already recorded recently with the same outcome; records the rest. */
export function dedupeBlocked(guarded: readonly Guarded[], state: EngineState, now: number): Guarded[] {
  return guarded.filter((x) => {
    if (!x.blocked) return true;
    const key = `${x.proposal.endpoint ?? "*"}|${x.proposal.kind}`;
    const sig = JSON.stringify([x.proposal.direction, x.guardrails.map((r) => r.name)]);
    if (state.blocked[key]?.sig === sig) return false;
    state.blocked[key] = { at: now, sig };
    return true;
  });
}
