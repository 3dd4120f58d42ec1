/**
 * The demo's terminal view (pure: state in, lines out). Per act: what the traffic saw on
 * each proxy of both fleets, what the tuner decided and why, and each cluster's config
 * version converging across the tuned fleet; at the end, one summary row per act.
 */
import type { Decision } from "@meshtune/contracts";
import type { DemoProxy } from "./fleet.js";
import type { Act } from "./story.js";
import { p99Ms, type TrafficLedger } from "./traffic.js";

export interface Convergence {
  cluster: string;
  version: number;
  acked: number;
  nacked: number;
  total: number;
}

export interface ViewState {
  story: readonly Act[];
  act: number;
  elapsedS: number;
  durationS: number;
  tuned: readonly DemoProxy[];
  alone: readonly DemoProxy[];
  ledger: TrafficLedger;
  /** Newest first. */
  decisions: readonly Decision[];
  convergence: readonly Convergence[];
  /** address:port -> simulator endpoint name. */
  names: ReadonlyMap<string, string>;
  notes: readonly string[];
}

const pad = (v: string | number, n: number) => String(v).padStart(n);
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

function trafficRows(s: ViewState): string[] {
  const rows = [
    `  ${"proxy".padEnd(10)}${pad("requests", 9)}${pad("failed", 8)}${pad("p99 ms", 8)}   │   ${"proxy".padEnd(10)}${pad("requests", 9)}${pad("failed", 8)}${pad("p99 ms", 8)}`,
  ];
  const n = Math.max(s.tuned.length, s.alone.length);
  const cell = (p: DemoProxy | undefined) => {
    if (!p) return " ".repeat(35);
    const st = s.ledger.proxy(s.act, p.id);
    return `${p.id.padEnd(10)}${pad(st.requests, 9)}${pad(st.failed, 8)}${pad(fmtMs(p99Ms(st)), 8)}`;
  };
  for (let i = 0; i < n; i++) rows.push(`  ${cell(s.tuned[i])}   │   ${cell(s.alone[i])}`);
  const t = s.ledger.fleet(s.act, "tuned");
  const a = s.ledger.fleet(s.act, "alone");
  rows.push(
    `  ${"FLEET".padEnd(10)}${pad(t.requests, 9)}${pad(t.failed, 8)}${pad(fmtMs(p99Ms(t)), 8)}   │   ${"FLEET".padEnd(10)}${pad(a.requests, 9)}${pad(a.failed, 8)}${pad(fmtMs(p99Ms(a)), 8)}`,
  );
  return rows;
}

export function describeDecision(d: Decision, names: ReadonlyMap<string, string>): string {
  const time = d.decidedAt.slice(11, 19);
  const ep = d.endpoint ? (names.get(d.endpoint) ?? d.endpoint) : `${d.cluster} (all)`;
  const change = Object.entries(d.after)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(" ");
  const guard = d.guardrails?.length ? ` [${d.guardrails.map((g) => `${g.name}: ${g.action}`).join("; ")}]` : "";
  const dry = d.dryRun ? " (dry-run)" : "";
  return `${time} ${d.kind.padEnd(19)} ${ep.padEnd(12)} ${change.slice(0, 28).padEnd(28)} ${d.rule}: ${d.reason}${guard}${dry}`;
}

export function renderLive(s: ViewState): string[] {
  const act = s.story[s.act]!;
  const out = [
    `meshtune demo — ${s.tuned.length} proxies with the tuner (left), ${s.alone.length} alone (right), same load — t=${s.elapsedS.toFixed(0)}s/${s.durationS}s — Ctrl-C stops`,
    "",
    `Act ${s.act + 1}/${s.story.length} · ${act.name}: ${act.title} — ${act.what}`,
    `  watch: ${act.watch}`,
    "",
    "what the traffic saw in this act (failed = 5xx or no response):",
    ...trafficRows(s),
    "",
    "tuner decisions (newest first; `./dev meshtune explain <id>` tells why):",
    ...(s.decisions.length === 0
      ? ["  (none yet)"]
      : s.decisions.slice(0, 8).map((d) => `  ${describeDecision(d, s.names)}`.slice(0, 170))),
    "",
    `config versions across the tuned fleet: ${
      s.convergence.length === 0
        ? "(none published yet)"
        : s.convergence
            .map((c) => `${c.cluster} v${c.version} ${c.acked}/${c.total} ACK${c.nacked ? ` ${c.nacked} NACK` : ""}`)
            .join("   ")
    }`,
  ];
  if (s.notes.length > 0) out.push("", ...s.notes.map((n) => `  ${n}`));
  return out;
}

export interface ActSummary {
  act: Act;
  decisions: number;
}

/** The closing table: one row per act, tuned fleet against proxies alone. */
export function renderSummary(
  story: readonly Act[],
  ledger: TrafficLedger,
  decisionsPerAct: readonly number[],
): string[] {
  const head = `${"act".padEnd(10)}${pad("tuner: failed/requests", 24)}${pad("p99 ms", 8)}${pad("alone: failed/requests", 24)}${pad("p99 ms", 8)}${pad("decisions", 11)}`;
  const rows = story.map((act, i) => {
    const t = ledger.fleet(i, "tuned");
    const a = ledger.fleet(i, "alone");
    return `${act.name.padEnd(10)}${pad(`${t.failed}/${t.requests}`, 24)}${pad(fmtMs(p99Ms(t)), 8)}${pad(`${a.failed}/${a.requests}`, 24)}${pad(fmtMs(p99Ms(a)), 8)}${pad(decisionsPerAct[i] ?? 0, 11)}`;
  });
  return ["summary per act (both fleets under the same load and faults):", head, ...rows];
}
