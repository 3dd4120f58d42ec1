/**
 * Decisions as the contracts define them (Decision: inputs, before/after, confidence, expiry,
 * guardrails, counterfactual), their deterministic ids, and the text `meshtune explain` prints.
 *
 * Id = <cluster>.<evaluation time, UTC, compact>.<first 12 hex of sha256(cluster, endpoint,
 * rule, kind, evaluation time)>: the same inputs give the same id, so a retried job writes
 * nothing twice (the service checks `decisionSeen`), and the id alone says which cluster's
 * stream holds it and roughly where (explain reads it back without a scan of every stream).
 */
import { createHash } from "node:crypto";
import { DECISION_API_VERSION, type Decision } from "@meshtune/contracts";
import type { Guarded } from "./guardrails.js";

function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export function decisionId(parts: {
  cluster: string;
  endpoint?: string;
  rule: string;
  kind: string;
  at: number;
}): string {
  const h = createHash("sha256")
    .update(JSON.stringify([parts.cluster, parts.endpoint ?? "", parts.rule, parts.kind, parts.at]))
    .digest("hex")
    .slice(0, 12);
  return `${parts.cluster}.${compactTime(parts.at)}.${h}`;
}

/** Splits an id made by decisionId (the cluster may contain dots; the last two parts never do). */
export function parseDecisionId(id: string): { cluster: string; at: number; hash: string } | undefined {
  const m = /^(.+)\.(\d{8}T\d{6}Z)\.([0-9a-f]{12})$/.exec(id);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const t = m[2];
  const at = Date.parse(
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`,
  );
  return Number.isNaN(at) ? undefined : { cluster: m[1], at, hash: m[3] };
}

export function toDecision(g: Guarded, cluster: string, now: number): Decision {
  const p = g.proposal;
  const d: Decision = {
    apiVersion: DECISION_API_VERSION,
    id: decisionId({ cluster, endpoint: p.endpoint, rule: p.rule, kind: p.kind, at: now }),
    cluster,
    kind: p.kind,
    rule: p.rule,
    reason: p.reason,
    inputs: p.inputs,
    before: p.before,
    after: p.after,
    dryRun: g.dryRun,
    decidedAt: new Date(now).toISOString(),
    confidence: Math.min(1, Math.max(0, Math.round(p.confidence * 1000) / 1000)),
    counterfactual: p.counterfactual,
  };
  if (p.endpoint) d.endpoint = p.endpoint;
  if (p.expiresAt !== undefined) d.expiresAt = new Date(p.expiresAt).toISOString();
  if (g.guardrails.length > 0) d.guardrails = g.guardrails;
  return d;
}

/** What happened to a decision, for metrics and the explain header. */
export type DecisionOutcome = "applied" | "dry_run" | "blocked";

export function outcomeOf(d: Decision): DecisionOutcome {
  if (d.guardrails?.some((g) => g.action === "blocked" && g.name !== "dry-run")) return "blocked";
  return d.dryRun ? "dry_run" : "applied";
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

const OUTCOME_TEXT: Record<DecisionOutcome, string> = {
  applied: "APPLIED (sent to the actuator)",
  dry_run: "DRY-RUN (published for review, not applied)",
  blocked: "BLOCKED by a guardrail (recorded, not applied)",
};

/** The text an SRE reads at 3 a.m.: what, why, on which figures, what the guardrails did, what if not. */
export function formatExplanation(d: Decision): string {
  const lines: string[] = [];
  const target = d.endpoint ? `${d.cluster} / ${d.endpoint}` : `${d.cluster} (whole cluster)`;
  lines.push(`Decision ${d.id}`);
  lines.push(`  ${d.kind} on ${target}: ${OUTCOME_TEXT[outcomeOf(d)]}`);
  lines.push(`  decided ${d.decidedAt}${d.expiresAt ? `, lapses ${d.expiresAt} unless renewed` : ""}`);
  lines.push(`  confidence ${d.confidence ?? "-"}`);
  lines.push("", `Rule: ${d.rule}`, `  ${d.reason}`);
  const keys = new Set([...Object.keys(d.before), ...Object.keys(d.after)]);
  lines.push("", "Change:");
  for (const k of keys) lines.push(`  ${k}: ${fmt(d.before[k])} -> ${fmt(d.after[k])}`);
  lines.push("", "Window figures used:");
  for (const [k, v] of Object.entries(d.inputs)) lines.push(`  ${k}: ${fmt(v)}`);
  lines.push("", "Guardrails:");
  if (!d.guardrails || d.guardrails.length === 0) lines.push("  none fired");
  for (const g of d.guardrails ?? []) {
    lines.push(`  ${g.name}: ${g.action} - ${g.detail}${g.wanted ? ` (rule wanted ${fmt(g.wanted)})` : ""}`);
  }
  lines.push("", "Without this decision:", `  ${d.counterfactual ?? "not recorded"}`);
  return lines.join("\n");
}
