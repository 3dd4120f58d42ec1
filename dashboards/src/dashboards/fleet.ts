/**
 * Fleet overview: is the fleet reporting, what is the tuner deciding, do the proxies take it.
 * docs/dashboards.md explains each panel.
 */
import type { DashboardBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { LABEL, PROXY_METRICS as P, TUNER_METRICS as T } from "@meshtune/contracts";
import { assemble, datasourceVariable, meshtuneDashboard } from "../panels.js";
import { aggBy, orZero, quantile, rate, series, sumBy } from "../promql.js";

const W = "$__rate_interval";
const ejected = `${LABEL.flag}=~"ejected_outlier|ejected_control_plane"`;
/** 1 per (cluster, endpoint) that at least one proxy holds ejected, else 0. */
const ejectedPerEndpoint = aggBy("max", [LABEL.cluster, LABEL.endpoint], series(P.healthFlags, ejected));

export const FLEET_UID = "meshtune-fleet";

export function fleetDashboard(): DashboardBuilder {
  const d = meshtuneDashboard(
    "meshtune / Fleet overview",
    FLEET_UID,
    "Fleet-wide view of the meshtune tuner: proxies reporting, decisions, ejections, config rollout.",
  ).withVariable(datasourceVariable());
  return assemble(d, [
    {
      title: "Fleet",
      panels: [
        {
          kind: "stat",
          title: "Proxies reporting",
          description: "Proxies Prometheus scraped in the last 5 minutes (each exports its applied config version).",
          unit: "short",
          queries: [{ expr: aggBy("count", [], series(P.configVersion)) }],
        },
        {
          kind: "stat",
          title: "Ejected endpoints",
          description:
            "Endpoints that at least one proxy holds ejected right now, by its own outlier detection or by the tuner, all clusters.",
          unit: "short",
          queries: [{ expr: sumBy([], ejectedPerEndpoint) }],
        },
        {
          kind: "stat",
          title: "Clusters converged",
          description: "Share of clusters whose current snapshot version every known proxy has ACKed.",
          unit: "percentunit",
          queries: [{ expr: aggBy("avg", [], aggBy("max", [LABEL.cluster], series(T.actuatorConverged))) }],
        },
        {
          kind: "stat",
          title: "Decisions per minute",
          description:
            "Decisions the engine made per minute over the dashboard's rate window, all clusters, dry-run included.",
          unit: "opm",
          queries: [{ expr: orZero(`${sumBy([], rate(T.engineDecisions, "", W))} * 60`) }],
        },
      ],
    },
    {
      title: "Decisions",
      panels: [
        {
          title: "Decisions per minute by rule and kind",
          description:
            "What the engine decides: one line per rule, decision kind (eject, uneject, set_weight, set_pool_min, ...) and outcome (applied, dry_run, blocked by a guardrail). Every decision is also an event on Kafka with its inputs and before/after.",
          unit: "opm",
          stacked: true,
          queries: [
            {
              expr: `${sumBy(["rule", "kind", "outcome"], rate(T.engineDecisions, "", W))} * 60`,
              legend: "{{rule}} / {{kind}} ({{outcome}})",
            },
          ],
        },
        {
          title: "Guardrail hits per minute",
          description:
            "Decisions a guardrail blocked or trimmed (max ejection percent, change rate limit, dwell before reversal), by guardrail and action. A steady rate means a rule keeps asking for more than the guardrails allow.",
          unit: "opm",
          queries: [
            {
              expr: orZero(`${sumBy(["guardrail", "action"], rate(T.engineGuardrailHits, "", W))} * 60`),
              legend: "{{guardrail}} {{action}}",
            },
          ],
        },
        {
          title: "Ejected endpoints by cluster",
          description:
            "Per cluster: endpoints ejected as the proxies see them (their outlier detection or the tuner's ejection), and as the engine holds them.",
          unit: "short",
          min: 0,
          queries: [
            { expr: sumBy([LABEL.cluster], ejectedPerEndpoint), legend: "proxies: {{cluster}}" },
            { expr: sumBy([LABEL.cluster], series(T.engineEjected)), legend: "engine: {{cluster}}" },
          ],
        },
        {
          title: "Decision outcomes at the actuator",
          description:
            "What the actuator did with each decision: applied to a new snapshot version, unchanged, dry_run, blocked or unsupported.",
          unit: "opm",
          queries: [{ expr: `${sumBy(["outcome"], rate(T.actuatorDecisions, "", W))} * 60`, legend: "{{outcome}}" }],
        },
      ],
    },
    {
      title: "Configuration rollout",
      panels: [
        {
          title: "Config version by cluster",
          description: "The snapshot version the actuator published last for each cluster; a step is a new version.",
          unit: "none",
          queries: [{ expr: aggBy("max", [LABEL.cluster], series(T.actuatorCurrentVersion)), legend: "{{cluster}}" }],
        },
        {
          title: "Proxies by applied control version",
          description:
            "How many proxies run each control-snapshot version (-1: none applied yet). During a rollout two versions show; afterwards one.",
          unit: "short",
          queries: [{ expr: `count_values("version", ${series(P.controlVersion)})`, legend: "v{{version}}" }],
        },
        {
          title: "Convergence time p50 / p99",
          description:
            "Time from publishing a snapshot version until every known proxy ACKed it, per cluster (goal: decision-to-applied p99 <= 500 ms).",
          unit: "s",
          queries: [
            { expr: quantile(0.5, T.actuatorConvergence, [LABEL.cluster], "", W), legend: "p50 {{cluster}}" },
            { expr: quantile(0.99, T.actuatorConvergence, [LABEL.cluster], "", W), legend: "p99 {{cluster}}" },
          ],
        },
        {
          title: "NACKs and rollbacks per minute",
          description:
            "Snapshot versions proxies refused (NACK) and rollbacks the actuator made because NACKs passed its threshold, per cluster; and configuration applications the proxies themselves report as NACK.",
          unit: "opm",
          queries: [
            {
              expr: orZero(`${sumBy([LABEL.cluster], rate(T.actuatorAcks, `status="NACK"`, W))} * 60`),
              legend: "NACK {{cluster}}",
            },
            {
              expr: orZero(`${sumBy([LABEL.cluster], rate(T.actuatorRollbacks, "", W))} * 60`),
              legend: "rollback {{cluster}}",
            },
            {
              expr: orZero(`${sumBy([LABEL.kind], rate(P.configApplies, `${LABEL.result}="NACK"`, W))} * 60`),
              legend: "proxy NACK ({{kind}})",
            },
          ],
        },
      ],
    },
  ]);
}
