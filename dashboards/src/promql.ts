/**
 * PromQL built from the contracts metric catalogs (PROXY_METRICS, TUNER_METRICS, SCRAPE_METRICS).
 * Dashboards and rules never spell a metric name: they pass a MetricDef and these helpers add
 * the Prometheus suffixes a histogram has (`_bucket`, `_sum`, `_count`). The catalog test
 * (test/catalog.test.ts) parses every query and checks each selector's name against the catalogs.
 */
import type { MetricDef } from "@meshtune/contracts";

/** Label matchers as written inside `{}` (e.g. `cluster=~"$cluster"`); empty for none. */
export type Sel = string;

function braces(sel: Sel): string {
  return sel ? `{${sel}}` : "";
}

function plain(def: MetricDef): string {
  if (def.type === "histogram") throw new Error(`${def.name} is a histogram: use bucket()/count()/sum()`);
  return def.name;
}

/** A counter or gauge selector. */
export function series(def: MetricDef, sel: Sel = ""): string {
  return `${plain(def)}${braces(sel)}`;
}

/** The `_bucket` series of a histogram. */
export function bucket(def: MetricDef, sel: Sel = ""): string {
  return `${histogram(def)}_bucket${braces(sel)}`;
}

/** The `_count` series of a histogram. */
export function hcount(def: MetricDef, sel: Sel = ""): string {
  return `${histogram(def)}_count${braces(sel)}`;
}

/** The `_sum` series of a histogram. */
export function hsum(def: MetricDef, sel: Sel = ""): string {
  return `${histogram(def)}_sum${braces(sel)}`;
}

function histogram(def: MetricDef): string {
  if (def.type !== "histogram") throw new Error(`${def.name} is a ${def.type}, not a histogram`);
  return def.name;
}

/** `rate(counter{sel}[window])`. */
export function rate(def: MetricDef, sel: Sel, window: string): string {
  if (def.type !== "counter") throw new Error(`rate() of ${def.name}, a ${def.type}`);
  return `rate(${series(def, sel)}[${window}])`;
}

/** `increase(counter{sel}[window])`. */
export function increase(def: MetricDef, sel: Sel, window: string): string {
  if (def.type !== "counter") throw new Error(`increase() of ${def.name}, a ${def.type}`);
  return `increase(${series(def, sel)}[${window}])`;
}

/** `sum by (labels) (expr)`; `sum (expr)` without labels. */
export function sumBy(labels: readonly string[], expr: string): string {
  return labels.length ? `sum by (${labels.join(", ")}) (${expr})` : `sum (${expr})`;
}

/** `agg by (labels) (expr)` for max, min, avg, count. */
export function aggBy(agg: "max" | "min" | "avg" | "count", labels: readonly string[], expr: string): string {
  return labels.length ? `${agg} by (${labels.join(", ")}) (${expr})` : `${agg} (${expr})`;
}

/** `histogram_quantile(q, sum by (le, labels) (rate(h_bucket{sel}[window])))`. */
export function quantile(q: number, def: MetricDef, by: readonly string[], sel: Sel, window: string): string {
  return `histogram_quantile(${q}, sum by (${["le", ...by].join(", ")}) (rate(${bucket(def, sel)}[${window}])))`;
}

/** Mean of a histogram over the window: rate(sum) / rate(count). */
export function mean(def: MetricDef, by: readonly string[], sel: Sel, window: string): string {
  return `${sumBy(by, `rate(${hsum(def, sel)}[${window}])`)} / ${sumBy(by, `rate(${hcount(def, sel)}[${window}])`)}`;
}

/**
 * A counter that has no series yet (no label set used so far) reads as 0 instead of "no data":
 * `expr or on() vector(0)`. Only for totals without grouping; a panel of error counters then
 * shows 0, which is the truth, rather than an empty graph an operator has to interpret.
 */
export function orZero(expr: string): string {
  return `(${expr}) or on() vector(0)`;
}
