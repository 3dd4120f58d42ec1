/**
 * The markdown report next to the results JSON (issue #12): bench/results/<stamp>.md, plus
 * latest.md after a full run of every scenario (latest-partial.md otherwise, like the JSON),
 * with the one table (table.ts), the run-to-run spread of a full run, and the plots (plots.ts)
 * as PNG under bench/results/plots/<stamp>/ (copied to plots/latest/ for latest.md).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Scenario } from "../lib/run.js";
import type { Results } from "../report.js";
import { allPlots, type PlotSpec, renderPng } from "./plots.js";
import { standaloneRows } from "./standalone.js";
import { buildRows, markdownTable, type ReportRow } from "./table.js";

export interface ReportInput {
  scenarios: readonly Scenario[];
  results: Results;
  /** Results directory (bench/results). */
  dir: string;
  stamp: string;
  /** true after a full run of every scenario: latest.md, else latest-partial.md. */
  complete: boolean;
}

/** The standalone benchmarks' newest results (bench/engine, bench/actuator, bench/collector). */
export function readStandalone(dir: string): { name: string; file: string; json: Record<string, unknown> }[] {
  const out: { name: string; file: string; json: Record<string, unknown> }[] = [];
  const files = existsSync(dir) ? readdirSync(dir) : [];
  for (const name of ["engine", "actuator", "collector"]) {
    const latest = [`${name}-latest.json`, `${name}-latest-quick.json`].find((f) => files.includes(f));
    const newest = files
      .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".json"))
      .sort()
      .at(-1);
    const file = latest ?? newest;
    if (!file) continue;
    try {
      out.push({ name, file, json: JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Record<string, unknown> });
    } catch {
      // unreadable: left out of the report
    }
  }
  return out;
}

function spreadLines(results: Results): string[] {
  const r = results.scenarios["tuner-fleet"];
  const lines: string[] = [];
  for (const [id, x] of Object.entries(r?.systems ?? {})) {
    const s = x.spread as
      | Record<string, { n: number; min: number; median: number; max: number } | null | number>
      | undefined;
    if (!s) continue;
    for (const [k, v] of Object.entries(s)) {
      if (v && typeof v === "object") lines.push(`| ${id} | ${k} | ${v.n} | ${v.min} | ${v.median} | ${v.max} |`);
    }
  }
  return lines.length
    ? ["| system | figure | runs | min | median | max |", "|---|---|---:|---:|---:|---:|", ...lines]
    : [];
}

/** The report's markdown (pure, given the rows and the plot files). */
export function renderReport(o: {
  results: Results;
  rows: readonly ReportRow[];
  plots: readonly { title: string; file: string }[];
  standaloneFiles: readonly string[];
}): string {
  const m = o.results.meta;
  const parts = [
    `# meshtune benchmark report — ${String(m.startedAt)} (${m.quick ? "QUICK: short runs, fewer proxies; a smoke test, not figures to quote" : "full run"})`,
    "",
    `${String(m.cpuModel)}, ${String(m.cpus)} cores; Node ${String(m.node)}; ${String(m.haproxyVersion)}; ${String(m.nginxVersion)}; commit ${String(m.gitCommit ?? "?").slice(0, 10)}. Scenarios: ${(m.scenarios as string[] | undefined)?.join(", ") ?? "-"}.`,
    "",
    "## Results",
    "",
    "Goals (DESIGN.md section 8) first, then each scenario's figures where meshtune and HAProxy or NGINX both have one. `ratio` is meshtune ÷ the system named in brackets (HAProxy unless said otherwise); `-` = not measured or not applicable.",
    "",
    markdownTable(o.rows),
  ];
  if (o.standaloneFiles.length) parts.push("", `Standalone benchmarks read from: ${o.standaloneFiles.join(", ")}.`);
  const spread = spreadLines(o.results);
  if (spread.length) parts.push("", "## Run-to-run spread (tuner-fleet, repeated runs)", "", ...spread);
  const notes = Object.entries(o.results.scenarios)
    .filter(([, r]) => r.description)
    .map(([name, r]) => `- **${name}** — ${r.description}${r.durationS !== undefined ? ` (${r.durationS} s)` : ""}`);
  if (notes.length) parts.push("", "## Scenarios", "", ...notes);
  if (o.plots.length) {
    parts.push("", "## Plots", "");
    for (const p of o.plots) parts.push(`### ${p.title}`, "", `![${p.title}](${p.file})`, "");
  }
  return `${parts.join("\n").trimEnd()}\n`;
}

/** Writes <stamp>.md, latest(.partial).md and the PNG plots; returns the files written. */
export async function writeReport(o: ReportInput): Promise<string[]> {
  const standalone = readStandalone(o.dir);
  const rows = [
    ...buildRows(o.scenarios, o.results),
    ...standalone.flatMap((s) => standaloneRows(`${s.name} (standalone)`, s.json)),
  ];
  const plotDir = path.join(o.dir, "plots", o.stamp);
  mkdirSync(plotDir, { recursive: true });
  const written: string[] = [];
  const rendered: { spec: PlotSpec; file: string }[] = [];
  for (const spec of allPlots(o.results)) {
    const file = path.join(plotDir, `${spec.name}.png`);
    try {
      writeFileSync(file, await renderPng(spec.spec));
      rendered.push({ spec, file });
      written.push(file);
    } catch (err) {
      process.stderr.write(`bench: plot ${spec.name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  const md = (sub: string) =>
    renderReport({
      results: o.results,
      rows,
      plots: rendered.map((r) => ({ title: r.spec.title, file: `plots/${sub}/${path.basename(r.file)}` })),
      standaloneFiles: standalone.map((s) => s.file),
    });
  const stampMd = path.join(o.dir, `${o.stamp}${o.results.meta.quick ? "-quick" : ""}.md`);
  writeFileSync(stampMd, md(o.stamp));
  written.push(stampMd);
  let latest = path.join(o.dir, "latest-partial.md");
  if (o.complete) {
    const latestDir = path.join(o.dir, "plots", "latest");
    mkdirSync(latestDir, { recursive: true });
    for (const r of rendered) copyFileSync(r.file, path.join(latestDir, path.basename(r.file)));
    latest = path.join(o.dir, "latest.md");
    writeFileSync(latest, md("latest"));
  } else {
    writeFileSync(latest, md(o.stamp));
  }
  written.push(latest);
  return written;
}
