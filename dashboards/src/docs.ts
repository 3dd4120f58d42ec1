/**
 * docs/dashboards.md, rendered from the same definitions as the dashboards and rules, so the
 * page explains exactly the panels Grafana shows (the staleness test covers it like the JSON).
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { DASHBOARDS } from "./dashboards/index.js";
import { ALERT_GROUPS, RECORDING_GROUPS } from "./prometheus/rules.js";

const INTRO = `# Dashboards and alerts

meshtune ships three Grafana dashboards and a set of Prometheus recording and alert rules. They
are written as code (\`dashboards/src\`, with \`@grafana/grafana-foundation-sdk\`) from the metric
catalogs in \`packages/contracts\` (the proxy's \`PROXY_METRICS\`, listed in
[telemetry.md](telemetry.md), and the tuner's \`TUNER_METRICS\`), and generated to
\`dashboards/generated/*.json\` and \`infra/prometheus/\`. This page is generated from the same
code: each panel below is what Grafana shows, with its query.

**Install.** With \`infra/compose/compose.yaml\` Grafana (http://localhost:3000) comes provisioned
with the data source and the dashboards (folder _meshtune_). In your own Grafana, copy
\`dashboards/provisioning/\` into its provisioning directory and \`dashboards/generated/\` to the
path the dashboard provider names, or import the JSON files; every dashboard has a _Data
source_ variable, so any Prometheus that scrapes the proxies and the tuner works. Prometheus
needs \`infra/prometheus/prometheus.yml\` and the rule files in \`infra/prometheus/rules/\`; with
the Prometheus Operator, the ServiceMonitors of \`infra/k8s\` and \`infra/k8s/prometheus-rules.yaml\`
(the same rules as a PrometheusRule). Sizing the tuner for a fleet: [operations.md](operations.md).

**Change a dashboard.** Edit \`dashboards/src/dashboards/*.ts\`, run
\`pnpm --filter @meshtune/dashboards generate\` and commit the generated files; \`./dev test\` fails
while they are stale, and when a query names a metric the contracts do not own.

Units follow Grafana's ids: \`s\` seconds, \`reqps\` requests/s, \`ops\` operations/s, \`opm\`
operations/min, \`cps\` counts/s, \`percentunit\` a 0..1 share, \`short\` a plain count, \`none\` a
number without unit. \`$__rate_interval\` is Grafana's rate window (at least four scrapes).
`;

interface RawPanel {
  type?: string;
  title?: string;
  description?: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr?: string; legendFormat?: string }[];
}

function panelDoc(p: RawPanel): string {
  const queries = (p.targets ?? [])
    .map((t) => `${t.legendFormat ? `# legend: ${t.legendFormat}\n` : ""}${t.expr}`)
    .join("\n");
  return `#### ${p.title}\n\n${p.description} Unit: \`${p.fieldConfig?.defaults?.unit}\`.\n\n\`\`\`promql\n${queries}\n\`\`\`\n`;
}

function dashboardDoc(d: Dashboard): string {
  const out = [`## ${d.title}\n\n${d.description} UID \`${d.uid}\`.\n`];
  const vars = (d.templating?.list ?? []).filter((v) => v.type === "query");
  if (vars.length) {
    out.push(`Variables: ${vars.map((v) => `\`${v.name}\` (${v.description}; \`${v.query}\`)`).join(", ")}.\n`);
  }
  const anns = (d.annotations?.list ?? []).filter((a) => a.expr);
  if (anns.length) {
    out.push(`Annotations: ${anns.map((a) => `_${a.name}_ (\`${a.expr}\`)`).join("; ")}.\n`);
  }
  for (const p of (d.panels ?? []) as RawPanel[]) {
    out.push(p.type === "row" ? `### ${p.title}\n` : panelDoc(p));
  }
  return out.join("\n");
}

function rulesDoc(): string {
  const rec = RECORDING_GROUPS.flatMap((g) => g.rules)
    .map((r) => `- \`${r.record}\`: \`${r.expr}\``)
    .join("\n");
  const alerts = ALERT_GROUPS.flatMap((g) => g.rules)
    .map(
      (a) =>
        `### ${a.alert} (${a.labels.severity}, for ${a.for})\n\n${a.annotations.description}\n\n\`\`\`promql\n${a.expr}\n\`\`\`\n`,
    )
    .join("\n");
  return `## Prometheus rules

Recording rules (\`infra/prometheus/rules/meshtune-recording.yml\`), named \`level:metric:operations\`:

${rec}

Alert rules (\`infra/prometheus/rules/meshtune-alerts.yml\`); \`infra/prometheus/tests/rules.test.yml\`
holds promtool unit tests in which each alert fires, and one in which it stays quiet. Summaries
and descriptions below are templates (\`{{ $labels.cluster }}\` is the alert's label).

${alerts}`;
}

export function dashboardsDoc(): string {
  return [INTRO, ...DASHBOARDS.map((d) => dashboardDoc(d.build())), rulesDoc()].join("\n");
}
