/**
 * The report's one table (issue #12): scenario, metric, meshtune, HAProxy, NGINX, ratio, goal,
 * met or not — built from every scenario's goals (first) and its comparative figures (the
 * scenario's own table rows that have a meshtune and an HAProxy or NGINX value); the standalone
 * benchmarks' rows (bench/engine, bench/actuator, the collector's) come from standalone.ts.
 * Pure: results in, rows out.
 */
import type { Goal, Scenario } from "../lib/run.js";
import type { Results } from "../report.js";

export type { Results };

export interface ReportRow {
  scenario: string;
  metric: string;
  meshtune: string;
  haproxy: string;
  nginx: string;
  ratio: string;
  goal: string;
  met: string;
}

/** Optional per-system figures a scenario attaches to a goal (tuner-fleet does). */
type Compare = { meshtune?: unknown; haproxy?: unknown; nginx?: unknown; ratio?: unknown; ratioOf?: unknown };

export const HEAD = ["scenario", "metric", "meshtune", "HAProxy", "NGINX", "ratio", "goal", "met"] as const;

export function cell(x: unknown): string {
  if (x === null || x === undefined || x === "") return "-";
  if (typeof x === "number") {
    if (!Number.isFinite(x)) return "-";
    return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
  }
  if (typeof x === "boolean") return x ? "yes" : "no";
  return String(x);
}

const num = (s: string): number | undefined => {
  const m = /^-?\d+(\.\d+)?/.exec(s.trim());
  return m ? Number(m[0]) : undefined;
};

function ratioOf(a: string, b: string): string {
  const x = num(a);
  const y = num(b);
  // Only between two positive figures: a ratio of a negative difference or of 0 means nothing.
  return x !== undefined && y !== undefined && x > 0 && y > 0 ? `${cell(x / y)} (÷ HAProxy)` : "-";
}

const metOf = (g: Goal) => (g.met === null ? "-" : g.met ? "met" : "NOT met");

function goalRow(scenario: string, g: Goal & { compare?: Compare }): ReportRow {
  const c = g.compare;
  if (c) {
    const ratio = cell(c.ratio);
    return {
      scenario,
      metric: g.goal,
      meshtune: cell(c.meshtune),
      haproxy: cell(c.haproxy),
      nginx: cell(c.nginx),
      ratio: ratio !== "-" && c.ratioOf ? `${ratio} (${cell(c.ratioOf)})` : ratio,
      goal: g.target,
      met: metOf(g),
    };
  }
  const v = cell(g.value);
  const sys = g.system.toLowerCase();
  return {
    scenario,
    metric: g.system.startsWith("meshtune") && g.system !== "meshtune" ? `${g.goal} [${g.system}]` : g.goal,
    meshtune: sys.startsWith("meshtune") ? v : "-",
    haproxy: sys === "haproxy" ? v : "-",
    nginx: sys === "nginx" ? v : "-",
    ratio: "-",
    goal: g.target,
    met: metOf(g),
  };
}

/** Rows of every scenario present in `results`, in the order of `scenarios`. */
export function buildRows(scenarios: readonly Scenario[], results: Results): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const s of scenarios) {
    const r = results.scenarios[s.name];
    if (!r) continue;
    if (r.error) {
      rows.push({
        scenario: s.name,
        metric: `FAILED: ${r.error.split("\n")[0]}`,
        meshtune: "-",
        haproxy: "-",
        nginx: "-",
        ratio: "-",
        goal: "-",
        met: "-",
      });
      continue;
    }
    for (const g of r.goals) rows.push(goalRow(s.name, g));
    let table: ReturnType<Scenario["table"]> = [];
    try {
      table = s.table(r);
    } catch {
      table = [];
    }
    for (const t of table) {
      const m = t.values.meshtune ?? "-";
      const h = t.values.haproxy ?? "-";
      const n = t.values.nginx ?? "-";
      if (m === "-" || (h === "-" && n === "-")) continue;
      rows.push({
        scenario: s.name,
        metric: t.metric,
        meshtune: m,
        haproxy: h,
        nginx: n,
        ratio: ratioOf(m, h),
        goal: "-",
        met: "-",
      });
    }
  }
  return rows;
}

export function markdownTable(rows: readonly ReportRow[]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    `| ${HEAD.join(" | ")} |`,
    "|---|---|---:|---:|---:|---:|---|---|",
    ...rows.map(
      (r) =>
        `| ${[r.scenario, r.metric, r.meshtune, r.haproxy, r.nginx, r.ratio, r.goal, r.met].map(esc).join(" | ")} |`,
    ),
  ].join("\n");
}
