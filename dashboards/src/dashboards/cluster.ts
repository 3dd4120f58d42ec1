/**
 * Cluster detail: one external service, endpoint by endpoint — what the tuner decided (weights,
 * scores, predictions, decisions as annotations) next to what the proxies saw (latency, errors,
 * load, pools, warm-up and health). Variables: cluster (one) and endpoint (any, default all).
 * docs/dashboards.md explains each panel.
 */
import {
  AnnotationQueryBuilder,
  type DashboardBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { LABEL, PROXY_METRICS as P, TUNER_METRICS as T } from "@meshtune/contracts";
import { assemble, DATASOURCE, datasourceVariable, meshtuneDashboard } from "../panels.js";
import { aggBy, orZero, quantile, rate, series, sumBy } from "../promql.js";

const W = "$__rate_interval";
const C = `${LABEL.cluster}="$cluster"`;
const CE = `${C}, ${LABEL.endpoint}=~"$endpoint"`;
const byEp = [LABEL.endpoint] as const;

export const CLUSTER_UID = "meshtune-cluster";

function variables(d: DashboardBuilder): DashboardBuilder {
  return d
    .withVariable(datasourceVariable())
    .withVariable(
      new QueryVariableBuilder(LABEL.cluster)
        .label("Cluster")
        .description("External service (cluster) as the proxies name it")
        .datasource(DATASOURCE)
        .query(`label_values(${series(P.requests)}, ${LABEL.cluster})`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      new QueryVariableBuilder(LABEL.endpoint)
        .label("Endpoint")
        .description("Endpoints (address:port) of the cluster")
        .datasource(DATASOURCE)
        .query(`label_values(${series(P.requests, C)}, ${LABEL.endpoint})`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(".*"),
    );
}

function annotations(d: DashboardBuilder): DashboardBuilder {
  return d
    .annotation(
      new AnnotationQueryBuilder()
        .name("Decisions")
        .datasource(DATASOURCE)
        .enable(true)
        .iconColor("orange")
        .expr(`${sumBy(["rule", "kind"], `increase(${series(T.engineDecisions, C)}[1m])`)} > 0`)
        .step("1m")
        .titleFormat("{{kind}}")
        .textFormat("{{kind}} decided by rule {{rule}} (meshtune explain <decision-id> tells why)")
        .tagKeys("rule,kind"),
    )
    .annotation(
      new AnnotationQueryBuilder()
        .name("Snapshot versions")
        .datasource(DATASOURCE)
        .enable(true)
        .iconColor("blue")
        .expr(`changes(${series(T.actuatorCurrentVersion, C)}[1m]) > 0`)
        .step("1m")
        .titleFormat("new snapshot version")
        .tagKeys(LABEL.cluster),
    );
}

export function clusterDashboard(): DashboardBuilder {
  const d = meshtuneDashboard(
    "meshtune / Cluster detail",
    CLUSTER_UID,
    "One external service endpoint by endpoint: the tuner's decisions next to what the proxies saw.",
  );
  const errors = sumBy(byEp, rate(P.requests, `${CE}, ${LABEL.statusClass}=~"5xx|error"`, W));
  const all = sumBy(byEp, rate(P.requests, CE, W));
  return assemble(annotations(variables(d)), [
    {
      title: "Balance",
      panels: [
        {
          title: "Weight per endpoint (tuner)",
          description:
            "The weight the engine decided for each endpoint (after guardrails): what the proxies receive in the cluster's snapshot. Decisions appear as annotations.",
          unit: "none",
          queries: [{ expr: aggBy("max", byEp, series(T.engineEndpointWeight, CE)), legend: "{{endpoint}}" }],
        },
        {
          title: "Score per endpoint",
          description:
            "Lower is better. Tuner: the fleet-wide pressure score (latency, errors, in-flight, pool pressure) behind the weights. Proxies: the mean of each proxy's own pool-aware load-balancer score.",
          unit: "none",
          queries: [
            { expr: aggBy("max", byEp, series(T.engineEndpointScore, CE)), legend: "tuner {{endpoint}}" },
            { expr: aggBy("avg", byEp, series(P.lbScore, CE)), legend: "proxies {{endpoint}}" },
          ],
        },
      ],
    },
    {
      title: "Latency, errors, load",
      panels: [
        {
          title: "Upstream latency p50 / p99",
          description:
            "Latency of upstream attempts to each endpoint across all proxies, from the endpoint pick to the end of the response (pool wait included).",
          unit: "s",
          queries: [
            { expr: quantile(0.5, P.requestDuration, byEp, CE, W), legend: "p50 {{endpoint}}" },
            { expr: quantile(0.99, P.requestDuration, byEp, CE, W), legend: "p99 {{endpoint}}" },
          ],
        },
        {
          title: "Error rate",
          description:
            "Share of upstream attempts per endpoint that got a 5xx or no response at all (connect failure, timeout, reset).",
          unit: "percentunit",
          min: 0,
          queries: [{ expr: `(${errors} or ${all} * 0) / ${all}`, legend: "{{endpoint}}" }],
        },
        {
          title: "Request rate per endpoint",
          description: "Upstream attempts per second to each endpoint, all proxies together.",
          unit: "reqps",
          stacked: true,
          queries: [{ expr: all, legend: "{{endpoint}}" }],
        },
        {
          title: "In-flight requests",
          description:
            "Requests in flight to each endpoint, summed over the proxies (the least-request balancer's input).",
          unit: "short",
          queries: [{ expr: sumBy(byEp, series(P.inFlight, CE)), legend: "{{endpoint}}" }],
        },
      ],
    },
    {
      title: "Connection pools",
      panels: [
        {
          title: "Pool connections by state",
          description:
            "Connections per endpoint and state over all proxies: idle (warm, ready for the next request), active, connecting.",
          unit: "short",
          stacked: true,
          queries: [
            {
              expr: sumBy([LABEL.endpoint, LABEL.state], series(P.poolConnections, CE)),
              legend: "{{endpoint}} {{state}}",
            },
          ],
        },
        {
          title: "Pending requests",
          description:
            "Requests waiting for a pool connection, per endpoint over all proxies; above 0 the pool is too small.",
          unit: "short",
          queries: [{ expr: sumBy(byEp, series(P.poolPending, CE)), legend: "{{endpoint}}" }],
        },
        {
          title: "Pool wait p99",
          description:
            "How long attempts waited for a pooled connection (p99 per endpoint). A warm pool waits ~0; a cold one pays a handshake (goal after a 10x step: < 1 ms).",
          unit: "s",
          queries: [{ expr: quantile(0.99, P.poolWait, byEp, CE, W), legend: "{{endpoint}}" }],
        },
        {
          title: "Connect latency p99",
          description:
            "TCP (+TLS) connect time of new connections per endpoint: what a request pays when no warm connection is idle.",
          unit: "s",
          queries: [{ expr: quantile(0.99, P.connectDuration, byEp, CE, W), legend: "{{endpoint}}" }],
        },
      ],
    },
    {
      title: "Warm-up and health",
      panels: [
        {
          title: "Warm-up outcomes per minute",
          description:
            "Warm-up connections per endpoint by outcome: ready, connect_failed, health_failed. A warm-up failure is an outlier signal: the tuner ejects the endpoint fleet-wide before a request reaches it.",
          unit: "opm",
          queries: [
            {
              expr: orZero(`${sumBy([LABEL.endpoint, LABEL.outcome], rate(P.warmup, CE, W))} * 60`),
              legend: "{{endpoint}} {{outcome}}",
            },
          ],
        },
        {
          title: "Health check results per minute",
          description:
            "Active health checks per endpoint by result: success, failure, timeout (warm-up checks included).",
          unit: "opm",
          queries: [
            {
              expr: orZero(`${sumBy([LABEL.endpoint, LABEL.result], rate(P.healthChecks, CE, W))} * 60`),
              legend: "{{endpoint}} {{result}}",
            },
          ],
        },
        {
          title: "Health flags set",
          description:
            "How many proxies have each health flag set on the endpoint: failed_active_hc, ejected_outlier, failed_warmup, draining, ejected_control_plane (the tuner's ejection).",
          unit: "short",
          queries: [
            { expr: sumBy([LABEL.endpoint, LABEL.flag], series(P.healthFlags, CE)), legend: "{{endpoint}} {{flag}}" },
          ],
        },
      ],
    },
    {
      title: "Prediction",
      panels: [
        {
          title: "Predicted vs actual request rate",
          description:
            "The engine's forecast of each endpoint's request rate (what predictive scale-up sizes pool minimums for) against the rate the proxies measured.",
          unit: "reqps",
          width: 24,
          queries: [
            { expr: aggBy("max", byEp, series(T.enginePredictedRate, CE)), legend: "predicted {{endpoint}}" },
            { expr: all, legend: "actual {{endpoint}}" },
          ],
        },
      ],
    },
  ]);
}
