/** The compact stdout table, the markdown for bench/README.md, and the goal summary. */
import { fmt, type Goal, type Scenario, type ScenarioResult } from "./lib/run.js";

export interface Results {
  meta: Record<string, unknown>;
  scenarios: Record<string, ScenarioResult>;
}

const SHORT: Record<string, string> = {
  direct: "direct",
  meshtune: "meshtune",
  haproxy: "HAProxy",
  nginx: "NGINX",
  "meshtune-coord-off": "mt coord off",
  "meshtune-no-warmup-eject": "mt warmupEject off",
  "meshtune-no-pool-score": "mt poolScore off",
  "meshtune-no-predictive": "mt predictive off",
  "meshtune-minwarm0": "mt minWarm0",
  "meshtune-lazy": "mt lazy (Envoy-like)",
};

function order(ids: string[]): string[] {
  const rank = (id: string) =>
    id === "direct" ? 0 : id === "meshtune" ? 1 : id === "haproxy" ? 2 : id === "nginx" ? 3 : 4;
  return [...ids].sort((a, b) => rank(a) - rank(b));
}

function tableOf(s: Scenario, r: ScenarioResult): { head: string[]; rows: string[][] } {
  const ids = order(Object.keys(r.systems));
  const rows = s.table(r).map((row) => [row.metric, ...ids.map((id) => row.values[id] ?? "-")]);
  return { head: ["", ...ids.map((id) => SHORT[id] ?? id)], rows };
}

export function textTable(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

function mdTable(head: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `| ${head.map(esc).join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

const mark = (g: Goal) => (g.met === null ? "n/a" : g.met ? "met" : "NOT met");

export function goalLines(results: Results): string[] {
  const lines: string[] = [];
  for (const r of Object.values(results.scenarios)) {
    for (const g of r.goals) {
      lines.push(
        `[${mark(g)}] ${g.goal} — ${g.system}: ${fmt(g.value)} (target ${g.target})${g.note ? `; ${g.note}` : ""}`,
      );
    }
  }
  return lines;
}

export function renderText(scenarios: Scenario[], results: Results): string {
  const parts: string[] = [];
  for (const s of scenarios) {
    const r = results.scenarios[s.name];
    if (!r) continue;
    parts.push(`\n== ${s.name}: ${r.title}${r.error ? `  (FAILED: ${r.error.split("\n")[0]})` : ""}`);
    if (Object.keys(r.systems).length > 0) {
      const t = tableOf(s, r);
      parts.push(textTable(t.head, t.rows));
    }
  }
  parts.push("\n== goals (DESIGN.md section 8)");
  parts.push(...goalLines(results));
  return parts.join("\n");
}

export function renderMarkdown(scenarios: Scenario[], results: Results): string {
  const m = results.meta;
  const parts: string[] = [
    `Run ${String(m.startedAt)} (${m.quick ? "quick" : "full"}), ${String(m.cpuModel)}, ${String(m.cpus)} cores; ${String(m.haproxyVersion)}, ${String(m.nginxVersion)}, Node ${String(m.node)}. Full JSON: [results/latest.json](results/latest.json).`,
  ];
  for (const s of scenarios) {
    const r = results.scenarios[s.name];
    if (!r) continue;
    parts.push(`\n#### ${s.name} — ${r.title}${r.error ? ` (FAILED: ${r.error.split("\n")[0]})` : ""}\n`);
    if (Object.keys(r.systems).length > 0) {
      const t = tableOf(s, r);
      parts.push(mdTable(t.head, t.rows));
    }
  }
  parts.push("\n#### Goals (DESIGN.md section 8)\n");
  parts.push(...goalLines(results).map((l) => `- ${l}`));
  return parts.join("\n");
}
