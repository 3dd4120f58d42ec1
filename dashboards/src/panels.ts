/**
 * Panel and layout helpers over @grafana/grafana-foundation-sdk. A panel is declared as a
 * PanelSpec (title, description, unit, queries) so that no panel can be built without a unit
 * and a description; `assemble` lays sections out on Grafana's 24-column grid.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import type { DataSourceRef } from "@grafana/grafana-foundation-sdk/common";
import {
  LegendDisplayMode,
  LegendPlacement,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from "@grafana/grafana-foundation-sdk/common";
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  type Panel,
  RowBuilder,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

/** The Prometheus data source variable every panel uses; provisioning names the default one. */
export const DS_VARIABLE = "datasource";
export const DATASOURCE: DataSourceRef = { type: "prometheus", uid: `\${${DS_VARIABLE}}` };

/** Every meshtune dashboard's frame: title, uid, description, tag, 30 s refresh, the last hour. */
export function meshtuneDashboard(title: string, uid: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(["meshtune"])
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .timezone("browser");
}

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder(DS_VARIABLE).label("Data source").type("prometheus");
}

export interface Query {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  /** What the panel shows and how to read it (Grafana shows it as the panel's info tooltip). */
  description: string;
  /** Grafana unit id: s, reqps, ops, opm, percentunit, short, none, ... */
  unit: string;
  queries: Query[];
  kind?: "timeseries" | "stat";
  /** Columns of 24 (default 12 for time series, 6 for stats). */
  width?: number;
  stacked?: boolean;
  min?: number;
}

export interface Section {
  title: string;
  panels: PanelSpec[];
}

function targets(spec: PanelSpec): cog.Builder<cog.Dataquery>[] {
  return spec.queries.map((q, i) => {
    const t = new DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE);
    return q.legend ? t.legendFormat(q.legend) : t;
  });
}

function panel(spec: PanelSpec, gridPos: { x: number; y: number; w: number; h: number }): cog.Builder<Panel> {
  if (spec.kind === "stat") {
    return new StatBuilder()
      .title(spec.title)
      .description(spec.description)
      .unit(spec.unit)
      .datasource(DATASOURCE)
      .targets(targets(spec))
      .gridPos(gridPos);
  }
  const ts = new TimeseriesBuilder()
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(DATASOURCE)
    .targets(targets(spec))
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .gridPos(gridPos);
  if (spec.min !== undefined) ts.min(spec.min);
  if (spec.stacked) ts.stacking(new StackingConfigBuilder().mode(StackingMode.Normal)).fillOpacity(30);
  return ts;
}

/** Adds the sections to the dashboard: a row header each, panels left to right, wrapping at 24 columns. */
export function assemble(d: DashboardBuilder, sections: Section[]): DashboardBuilder {
  let y = 0;
  for (const s of sections) {
    d.withRow(new RowBuilder(s.title).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of s.panels) {
      const w = spec.width ?? (spec.kind === "stat" ? 6 : 12);
      const h = spec.kind === "stat" ? 4 : 8;
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      d.withPanel(panel(spec, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return d;
}
