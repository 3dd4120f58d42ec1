/**
 * Every query the generated dashboards and rules run, with where it lives (dashboard, panel,
 * query ref) so a failing check names it; the metric names a query selects, read with
 * Prometheus's own PromQL grammar (@prometheus-io/lezer-promql); and the metric names the
 * contracts catalogs own.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { type MetricDef, PROXY_METRICS, SCRAPE_METRICS, TUNER_METRICS } from "@meshtune/contracts";
import { parser } from "@prometheus-io/lezer-promql";
import { DASHBOARDS } from "../src/dashboards/index.js";
import { ALERT_GROUPS, RECORDING_GROUPS } from "../src/prometheus/rules.js";

export interface LocatedQuery {
  /** e.g. `dashboard "meshtune / Fleet overview", panel "Proxies reporting", query A`. */
  where: string;
  expr: string;
}

export interface PanelInfo {
  where: string;
  type: string;
  unit: string | undefined;
  description: string | undefined;
  queries: LocatedQuery[];
}

interface RawPanel {
  type?: string;
  title?: string;
  description?: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { refId?: string; expr?: string }[];
}

export function panels(): PanelInfo[] {
  return DASHBOARDS.flatMap((def) => {
    const d: Dashboard = def.build();
    return ((d.panels ?? []) as RawPanel[])
      .filter((p) => p.type !== "row")
      .map((p) => {
        const where = `dashboard "${d.title}", panel "${p.title}"`;
        return {
          where,
          type: p.type ?? "",
          unit: p.fieldConfig?.defaults?.unit,
          description: p.description,
          queries: (p.targets ?? []).map((t) => ({ where: `${where}, query ${t.refId}`, expr: t.expr ?? "" })),
        };
      });
  });
}

/** Template-variable queries (`label_values(<selector>, label)`: the selector part) and annotation queries. */
export function dashboardExtras(): LocatedQuery[] {
  return DASHBOARDS.flatMap((def) => {
    const d = def.build();
    const vars = (d.templating?.list ?? [])
      .filter((v) => v.type === "query")
      .map((v) => {
        const q = String(v.query ?? "");
        const m = /^label_values\((.*),\s*\w+\)$/.exec(q);
        return { where: `dashboard "${d.title}", variable "${v.name}"`, expr: m?.[1] ?? q };
      });
    const anns = (d.annotations?.list ?? [])
      .filter((a) => a.expr)
      .map((a) => ({ where: `dashboard "${d.title}", annotation "${a.name}"`, expr: a.expr ?? "" }));
    return [...vars, ...anns];
  });
}

export function ruleQueries(): LocatedQuery[] {
  return [
    ...RECORDING_GROUPS.flatMap((g) => g.rules.map((r) => ({ where: `recording rule ${r.record}`, expr: r.expr }))),
    ...ALERT_GROUPS.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
  ];
}

/** Grafana's variables replaced by values Prometheus accepts (all clusters/endpoints, a 1m window). */
export function expandVariables(expr: string, vars: Record<string, string> = {}): string {
  return expr
    .replaceAll("$__rate_interval", vars.__rate_interval ?? "1m")
    .replaceAll("$__interval", vars.__interval ?? "1m")
    .replace(/\$(\w+)/g, (_, name: string) => vars[name] ?? ".*");
}

/** Metric names the query selects; throws on a PromQL syntax error. */
export function metricNames(expr: string): string[] {
  const text = expandVariables(expr);
  const names: string[] = [];
  let error: string | undefined;
  parser.parse(text).iterate({
    enter(n) {
      if (n.type.isError) error ??= `syntax error at ${n.from}: ${text.slice(Math.max(0, n.from - 20), n.to + 20)}`;
      if (n.name === "Identifier" && n.node.parent?.name === "VectorSelector") names.push(text.slice(n.from, n.to));
    },
  });
  if (error) throw new Error(error);
  return names;
}

/** Every series name the contracts catalogs own; a histogram owns its _bucket, _sum and _count. */
export function catalogNames(): Set<string> {
  const defs: MetricDef[] = [
    ...Object.values(PROXY_METRICS),
    ...Object.values(TUNER_METRICS),
    ...Object.values(SCRAPE_METRICS),
  ];
  return new Set(
    defs.flatMap((d) => (d.type === "histogram" ? [`${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name])),
  );
}
