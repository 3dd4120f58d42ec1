/**
 * Folding decisions into a cluster's desired control state (issue #11). Pure: the same
 * override and decisions give the same result, so the fold is tested without Redis.
 *
 * The snapshot is the full desired state (never a diff): a proxy that missed versions applies
 * the latest one and is right. Each decision's `after` carries the override fields it sets,
 * named as in ClusterOverride (the engine's rules write them so). A decision with dryRun, or
 * one a guardrail blocked, is never applied; it is still published as an event.
 */
import type { ClusterOverride, Decision, EndpointOverride } from "@meshtune/contracts";

export type FoldOutcome = "applied" | "unchanged" | "dry_run" | "blocked" | "unsupported";

export interface FoldResult {
  override: ClusterOverride;
  outcomes: Array<{ id: string; kind: Decision["kind"]; outcome: FoldOutcome; detail?: string }>;
  /** True when the override differs from the input (a new version is due). */
  changed: boolean;
}

export const emptyOverride = (): ClusterOverride => ({ endpointOverrides: {} });

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

type Step = { ok: true; override: ClusterOverride } | { ok: false; detail: string };

function withEndpoint(
  o: ClusterOverride,
  ep: string | undefined,
  patch: (e: EndpointOverride) => EndpointOverride,
): Step {
  if (!ep) return { ok: false, detail: "endpoint decision without an endpoint" };
  const next = patch({ ...(o.endpointOverrides[ep] ?? {}) });
  const endpointOverrides = { ...o.endpointOverrides };
  // An endpoint with nothing overridden is dropped, so uneject restores the exact earlier state.
  if (Object.values(next).every((v) => v === undefined)) delete endpointOverrides[ep];
  else endpointOverrides[ep] = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined));
  return { ok: true, override: { ...o, endpointOverrides } };
}

function setField(o: ClusterOverride, d: Decision, field: "weight" | "minWarm" | "preconnect"): Step {
  const v = num(d.after[field]);
  if (v === undefined || v < 0) return { ok: false, detail: `after.${field} is not a number` };
  return withEndpoint(o, d.endpoint, (e) => ({ ...e, [field]: Math.round(v) }));
}

function setPool(o: ClusterOverride, d: Decision, fields: readonly string[]): Step {
  const pool: Record<string, number> = { ...(o.pool ?? {}) };
  let any = false;
  for (const f of fields) {
    const v = num(d.after[f]);
    if (v === undefined) continue;
    pool[f] = Math.max(f === "maxPendingRequests" ? 0 : 1, Math.round(v));
    any = true;
  }
  if (!any) return { ok: false, detail: `after has none of ${fields.join(", ")}` };
  return { ok: true, override: { ...o, pool } };
}

/** One decision's effect on the override. */
export function applyDecision(o: ClusterOverride, d: Decision): Step {
  switch (d.kind) {
    case "eject":
      return withEndpoint(o, d.endpoint, (e) => ({
        ...e,
        ejected: true,
        ejectReason: typeof d.after.ejectReason === "string" ? d.after.ejectReason : `${d.rule}: ${d.reason}`,
      }));
    case "uneject":
      return withEndpoint(o, d.endpoint, (e) => ({ ...e, ejected: undefined, ejectReason: undefined }));
    case "set_weight":
      return setField(o, d, "weight");
    case "set_pool_min":
      return setField(o, d, "minWarm");
    case "set_preconnect":
      return setField(o, d, "preconnect");
    case "set_connect_timeout":
      return setPool(o, d, ["connectTimeoutMs"]);
    case "set_pool_limits":
      return setPool(o, d, ["maxConnectionsPerEndpoint", "maxPendingRequests"]);
    default:
      // set_lb_policy: a ClusterOverride has no LB policy field; the event still goes out.
      return { ok: false, detail: `${d.kind} has no field in a ClusterOverride` };
  }
}

/** Canonical JSON (sorted keys), to tell whether a fold changed anything. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function foldDecisions(start: ClusterOverride, decisions: readonly Decision[]): FoldResult {
  let o = start;
  const outcomes: FoldResult["outcomes"] = [];
  for (const d of decisions) {
    const base = { id: d.id, kind: d.kind };
    if (d.dryRun) {
      outcomes.push({ ...base, outcome: "dry_run" });
      continue;
    }
    const blocked = d.guardrails?.find((g) => g.action === "blocked");
    if (blocked) {
      outcomes.push({ ...base, outcome: "blocked", detail: blocked.name });
      continue;
    }
    const step = applyDecision(o, d);
    if (!step.ok) {
      outcomes.push({ ...base, outcome: "unsupported", detail: step.detail });
      continue;
    }
    const same = canonical(step.override) === canonical(o);
    o = step.override;
    outcomes.push({ ...base, outcome: same ? "unchanged" : "applied" });
  }
  return { override: o, outcomes, changed: canonical(o) !== canonical(start) };
}
