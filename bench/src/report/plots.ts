/**
 * The report's plots as vega-lite specs (pure: results in, specs out), rendered without a
 * browser: vega-lite → vega → SVG (vega's headless View, renderer "none"), then SVG → PNG with
 * @resvg/resvg-js (Rust resvg; its linux-x64 binary ships as an npm package) using the
 * machine's fonts (DejaVu Sans).
 *
 * Plots:
 * - latency over time (p99 of OK requests per second, per system) with the fault marker;
 * - latency CDF per system (quantiles of OK requests);
 * - fleet errors over time (failed requests per second, per system) with the tuner's applied
 *   decisions as markers;
 * - for the other scenarios, latency percentiles per system from their summaries (p50…max).
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Results } from "../report.js";

export interface PlotSpec {
  /** File name without extension. */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

type Row = Record<string, unknown>;
const WIDTH = 720;
const HEIGHT = 300;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

interface Series {
  t: number;
  requests: number;
  failed: number;
  p50: number | null;
  p99: number | null;
}

const labelOf = (id: string, x: Row) => (typeof x.label === "string" ? x.label : id);

function fleetSystems(results: Results, scenario: string): [string, Row][] {
  const r = results.scenarios[scenario];
  if (!r) return [];
  return Object.entries(r.systems).filter(([, x]) => !x.error && Array.isArray(x.series)) as [string, Row][];
}

/** A dashed vertical rule with a label: where the fault happened. */
function faultRule(atS: number, label: string): object[] {
  return [
    {
      data: { values: [{ t: atS, label }] },
      mark: { type: "rule", color: "#c00", strokeDash: [6, 3] },
      encoding: { x: { field: "t", type: "quantitative" } },
    },
    {
      data: { values: [{ t: atS, label }] },
      mark: { type: "text", color: "#c00", align: "left", dx: 4, baseline: "top", y: 4 },
      encoding: { x: { field: "t", type: "quantitative" }, text: { field: "label" } },
    },
  ];
}

/** Latency over time, errors over time and CDF of the tuner-fleet scenario. */
export function fleetPlots(results: Results, scenario = "tuner-fleet"): PlotSpec[] {
  const systems = fleetSystems(results, scenario);
  if (systems.length === 0) return [];
  const params = results.scenarios[scenario]?.params ?? {};
  const deathS = typeof params.deathAtMs === "number" ? params.deathAtMs / 1000 : undefined;
  const dead = typeof params.deadEndpoint === "string" ? params.deadEndpoint : "endpoint";
  const fault = deathS === undefined ? [] : faultRule(deathS, `${dead} dies`);
  const lat: Row[] = [];
  const err: Row[] = [];
  const cdf: Row[] = [];
  for (const [id, x] of systems) {
    const system = labelOf(id, x);
    for (const p of x.series as Series[]) {
      if (p.p99 !== null) lat.push({ system, t: p.t, p99: Math.max(p.p99, 0.1) });
      err.push({ system, t: p.t, failed: p.failed });
    }
    for (const q of (x.cdf ?? []) as { q: number; ms: number }[])
      cdf.push({ system, q: q.q * 100, ms: Math.max(q.ms, 0.1) });
  }
  const zoom: Row[] = [];
  for (const [id, x] of systems) {
    for (const p of (x.deathTimeline ?? []) as { t: number; failed: number }[])
      zoom.push({ system: labelOf(id, x), t: p.t / 1000, failed: p.failed });
  }
  const markers: Row[] = [];
  const tuned = results.scenarios[scenario]?.systems.meshtune as Row | undefined;
  const ctl = tuned?.control as { markers?: { atMs: number; kind: string }[] } | undefined;
  for (const m of ctl?.markers ?? []) markers.push({ t: m.atMs / 1000, kind: m.kind });
  const color = { field: "system", type: "nominal", legend: { orient: "bottom", columns: 2, labelLimit: 400 } };
  const x = { field: "t", type: "quantitative", title: "seconds since the load started" };
  return [
    {
      name: `${scenario}-latency`,
      title: "Latency over time (p99 of OK requests per second) with the fault",
      spec: {
        $schema: SCHEMA,
        title: "p99 latency per second (OK requests), fleet-wide",
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: lat },
            mark: { type: "line", point: false },
            encoding: {
              x,
              y: { field: "p99", type: "quantitative", scale: { type: "log" }, title: "p99 ms (log)" },
              color,
            },
          },
          ...fault,
        ],
      } as TopLevelSpec,
    },
    {
      name: `${scenario}-errors`,
      title: "Fleet errors over time with the tuner's decisions",
      spec: {
        $schema: SCHEMA,
        title: "Failed requests per second across the fleet (ticks: decisions the tuner applied)",
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: err },
            mark: { type: "line", interpolate: "step-after" },
            encoding: { x, y: { field: "failed", type: "quantitative", title: "failed requests / s" }, color },
          },
          ...(markers.length
            ? [
                {
                  data: { values: markers },
                  mark: { type: "tick", thickness: 2, size: 14, color: "#555" },
                  encoding: { x: { field: "t", type: "quantitative" }, y: { value: HEIGHT - 7 } },
                },
              ]
            : []),
          ...fault,
        ],
      } as TopLevelSpec,
    },
    {
      name: `${scenario}-errors-zoom`,
      title: "Fleet errors around the death (100 ms bins) with the tuner's decisions",
      spec: {
        $schema: SCHEMA,
        title: "Failed requests per 100 ms around the death (labels: decisions the tuner applied)",
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: zoom },
            mark: { type: "line", interpolate: "step-after" },
            encoding: { x, y: { field: "failed", type: "quantitative", title: "failed requests / 100 ms" }, color },
          },
          ...(markers.length
            ? [
                {
                  data: { values: markers },
                  transform: [
                    { filter: `datum.t >= ${zoom.length ? Math.min(...zoom.map((z) => z.t as number)) : 0}` },
                    { filter: `datum.t <= ${zoom.length ? Math.max(...zoom.map((z) => z.t as number)) : 0}` },
                  ],
                  mark: { type: "text", angle: 270, align: "left", dx: -4, fontSize: 10, color: "#555" },
                  encoding: {
                    x: { field: "t", type: "quantitative" },
                    y: { value: HEIGHT - 4 },
                    text: { field: "kind" },
                  },
                },
                {
                  data: { values: markers },
                  transform: [
                    { filter: `datum.t >= ${zoom.length ? Math.min(...zoom.map((z) => z.t as number)) : 0}` },
                    { filter: `datum.t <= ${zoom.length ? Math.max(...zoom.map((z) => z.t as number)) : 0}` },
                  ],
                  mark: { type: "rule", color: "#555", strokeDash: [2, 2] },
                  encoding: { x: { field: "t", type: "quantitative" } },
                },
              ]
            : []),
          ...fault,
        ],
      } as TopLevelSpec,
    },
    {
      name: `${scenario}-cdf`,
      title: "Latency CDF per system",
      spec: {
        $schema: SCHEMA,
        title: "Latency CDF of OK requests, whole run",
        width: WIDTH,
        height: HEIGHT,
        data: { values: cdf },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency ms (log)" },
          y: { field: "q", type: "quantitative", title: "percent of requests ≤ x", scale: { domain: [0, 100] } },
          color,
        },
      } as TopLevelSpec,
    },
  ];
}

const PCTS: [string, number][] = [
  ["p50", 50],
  ["p90", 90],
  ["p99", 99],
  ["p999", 99.9],
  ["max", 100],
];

/** Latency percentiles per system for every scenario whose systems report a latencyMs summary. */
export function summaryPlots(results: Results): PlotSpec[] {
  const out: PlotSpec[] = [];
  for (const [name, r] of Object.entries(results.scenarios)) {
    if (name === "tuner-fleet") continue;
    const rows: Row[] = [];
    for (const [id, x] of Object.entries(r.systems)) {
      const l = x.latencyMs as Record<string, unknown> | undefined;
      if (!l || x.error) continue;
      for (const [k, q] of PCTS)
        if (typeof l[k] === "number") rows.push({ system: labelOf(id, x), q, ms: Math.max(l[k] as number, 0.01) });
    }
    if (rows.length === 0) continue;
    out.push({
      name: `${name}-percentiles`,
      title: `${name}: latency percentiles per system`,
      spec: {
        $schema: SCHEMA,
        title: `${name}: latency percentiles (p50, p90, p99, p99.9, max)`,
        width: WIDTH,
        height: 240,
        data: { values: rows },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency ms (log)" },
          y: { field: "q", type: "quantitative", title: "percentile", scale: { domain: [50, 100] } },
          color: { field: "system", type: "nominal", legend: { orient: "bottom", columns: 2, labelLimit: 400 } },
        },
      } as TopLevelSpec,
    });
  }
  return out;
}

export function allPlots(results: Results): PlotSpec[] {
  return [...fleetPlots(results), ...summaryPlots(results)];
}

/** vega-lite → vega → SVG → PNG (white background, 2× scale for legibility). */
export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      background: "white",
      fitTo: { mode: "zoom", value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    }).render();
    return png.asPng();
  } finally {
    view.finalize();
  }
}
