/**
 * Prometheus recording and alert rules for meshtune, as data; generate.ts writes them to
 * infra/prometheus/rules/*.yml. Every metric comes from the contracts catalogs through promql.ts.
 *
 * Recording rule names follow the Prometheus convention `level:metric:operations`
 * (https://prometheus.io/docs/practices/rules/). Windows: 1m for what dashboards and alerts
 * read often (a scrape interval of 15 s gives four samples), 5m for slow-moving histograms.
 *
 * Alert thresholds and why:
 * - not converged within 30 s: the design goal is decision-to-applied p99 <= 500 ms
 *   (DESIGN.md section 8), so a version still un-ACKed after 30 s means a proxy is stuck or gone,
 *   not slow; 30 s is also two scrapes plus the actuator's own retry.
 * - ejection cap reached for 5 m: the guardrail working is fine for a moment (a burst of
 *   failures); for minutes it means the cluster runs on its minimum healthy share.
 * - collector rejecting for 10 m: single rejections happen (a proxy sending while a collector
 *   restarts); a steady rate means lost evidence.
 * - outbox growing for 10 m: Kafka is down or slower than decisions; the outbox is bounded,
 *   so a growing one eventually drops events.
 * - decision flapping: the tuner's own ejection flag on one endpoint changing 4+ times in 30 m
 *   means hysteresis does not hold (design goal: no flapping under stationary noise).
 */
import { LABEL, PROXY_METRICS as P, SCRAPE_METRICS as S, TUNER_METRICS as T } from "@meshtune/contracts";
import { aggBy, quantile, rate, series, sumBy } from "../promql.js";
import { JOBS } from "./scrape.js";

export interface RecordingRule {
  record: string;
  expr: string;
}
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string };
}
export interface RuleGroup<R> {
  name: string;
  interval?: string;
  rules: R[];
}

export const CONVERGE_WITHIN_SECONDS = 30;
export const FLAP_CHANGES = 4;

const ep = [LABEL.cluster, LABEL.endpoint] as const;
const errorClasses = `${LABEL.statusClass}=~"5xx|error"`;
const ejectedFlags = `${LABEL.flag}=~"ejected_outlier|ejected_control_plane"`;

/** `cluster_endpoint:<metric without _total>:<op>`. */
function rec(level: string, def: { name: string }, op: string): string {
  return `${level}:${def.name.replace(/_total$/, "")}:${op}`;
}

export const RECORDED = {
  upstreamRate: rec("cluster_endpoint", P.requests, "rate1m"),
  upstreamErrorRatio: rec("cluster_endpoint", P.requests, "error_ratio_rate1m"),
  upstreamP50: rec("cluster_endpoint", P.requestDuration, "p50_rate1m"),
  upstreamP99: rec("cluster_endpoint", P.requestDuration, "p99_rate1m"),
  poolWaitP99: rec("cluster", P.poolWait, "p99_rate1m"),
  ejectedEndpoints: rec("cluster", P.healthFlags, "ejected_endpoints"),
  ejectedRatio: rec("cluster", P.healthFlags, "ejected_ratio"),
  convergenceP99: rec("cluster", T.actuatorConvergence, "p99_rate5m"),
  decisionsRate: rec("cluster_rule_kind", T.engineDecisions, "rate5m"),
  evaluationP99: rec("job", T.engineEvaluationDuration, "p99_rate5m"),
  collectorRejectedRate: rec("job", T.collectorRejected, "rate5m"),
} as const;

/** Each endpoint's flag state seen by any proxy: 1 when at least one proxy has it ejected. */
const ejectedPerEndpoint = aggBy("max", ep, series(P.healthFlags, ejectedFlags));
const anyFlagPerEndpoint = aggBy("max", ep, series(P.healthFlags));
/** Per proxy (scrape target): 1 when every endpoint of the cluster carries some health flag. */
const noUsableEndpoint = aggBy(
  "min",
  ["instance", LABEL.cluster],
  aggBy("max", ["instance", ...ep], series(P.healthFlags)),
);

export const RECORDING_GROUPS: RuleGroup<RecordingRule>[] = [
  {
    name: "meshtune-proxy",
    rules: [
      { record: RECORDED.upstreamRate, expr: sumBy(ep, rate(P.requests, "", "1m")) },
      {
        record: RECORDED.upstreamErrorRatio,
        // `or total * 0`: an endpoint without errors has no 5xx/error series; its ratio is 0, not absent.
        expr: `(${sumBy(ep, rate(P.requests, errorClasses, "1m"))} or ${sumBy(ep, rate(P.requests, "", "1m"))} * 0) / ${sumBy(ep, rate(P.requests, "", "1m"))}`,
      },
      { record: RECORDED.upstreamP50, expr: quantile(0.5, P.requestDuration, ep, "", "1m") },
      { record: RECORDED.upstreamP99, expr: quantile(0.99, P.requestDuration, ep, "", "1m") },
      { record: RECORDED.poolWaitP99, expr: quantile(0.99, P.poolWait, [LABEL.cluster], "", "1m") },
      { record: RECORDED.ejectedEndpoints, expr: sumBy([LABEL.cluster], ejectedPerEndpoint) },
      {
        record: RECORDED.ejectedRatio,
        expr: `${sumBy([LABEL.cluster], ejectedPerEndpoint)} / ${aggBy("count", [LABEL.cluster], anyFlagPerEndpoint)}`,
      },
    ],
  },
  {
    name: "meshtune-tuner",
    rules: [
      { record: RECORDED.convergenceP99, expr: quantile(0.99, T.actuatorConvergence, [LABEL.cluster], "", "5m") },
      { record: RECORDED.decisionsRate, expr: sumBy(["cluster", "rule", "kind"], rate(T.engineDecisions, "", "5m")) },
      { record: RECORDED.evaluationP99, expr: quantile(0.99, T.engineEvaluationDuration, ["job"], "", "5m") },
      { record: RECORDED.collectorRejectedRate, expr: sumBy(["job", "reason"], rate(T.collectorRejected, "", "5m")) },
    ],
  },
];

export const ALERT_GROUPS: RuleGroup<AlertRule>[] = [
  {
    name: "meshtune-alerts",
    rules: [
      {
        alert: "MeshtuneConfigNotConverged",
        expr: `${aggBy("max", [LABEL.cluster], series(T.actuatorConverged))} == 0`,
        for: `${CONVERGE_WITHIN_SECONDS}s`,
        labels: { severity: "warning" },
        annotations: {
          summary: "Cluster {{ $labels.cluster }}: snapshot version not ACKed by every proxy",
          description: `The current control snapshot of {{ $labels.cluster }} has not been ACKed by every known proxy for ${CONVERGE_WITHIN_SECONDS} s. Check NACKs (Fleet overview) and proxies that stopped answering.`,
        },
      },
      {
        alert: "MeshtuneEjectionCapReached",
        expr: `(${series(T.engineEjected)} >= ${series(T.engineEjectionCap)}) and ${series(T.engineEjected)} > 0`,
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Cluster {{ $labels.cluster }}: max-ejection-percent guardrail reached",
          description:
            "The engine holds as many endpoints of {{ $labels.cluster }} ejected as the guardrail allows ({{ $value }}); further failing endpoints stay in rotation. The external service may be degraded as a whole.",
        },
      },
      {
        alert: "MeshtuneCollectorRejecting",
        expr: `${sumBy(["job", "reason"], rate(T.collectorRejected, "", "5m"))} > 0`,
        for: "10m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Collector rejects telemetry ({{ $labels.reason }})",
          description:
            "The collector has rejected data points, spans or requests for 10 minutes ({{ $value }}/s, reason {{ $labels.reason }}); the engine decides on incomplete evidence.",
        },
      },
      {
        alert: "MeshtuneOutboxGrowing",
        expr: `delta(${series(T.actuatorOutboxDepth)}[10m]) > 0 and ${series(T.actuatorOutboxDepth)} > 0`,
        for: "10m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Cluster {{ $labels.cluster }}: decision events pile up in the outbox",
          description:
            "The Redis outbox of {{ $labels.cluster }} has grown for 10 minutes ({{ $value }} more events): Kafka is unreachable or slower than the decisions. Check meshtune_actuator_kafka_publish_errors_total.",
        },
      },
      {
        alert: "MeshtuneProxyNotReady",
        expr: `${series(S.up, `job="${JOBS.proxy}"`)} == 0 or ${noUsableEndpoint} == 1`,
        for: "1m",
        labels: { severity: "critical" },
        annotations: {
          summary: "Proxy {{ $labels.instance }} is down or has no usable endpoint",
          description:
            "The proxy {{ $labels.instance }} cannot be scraped, or every endpoint of cluster {{ $labels.cluster }} carries a health flag (ejected, failed health check or warm-up, draining): it answers no_healthy_upstream.",
        },
      },
      {
        alert: "MeshtuneDecisionFlapping",
        expr: `${aggBy("max", ep, `changes(${series(P.healthFlags, `${LABEL.flag}="ejected_control_plane"`)}[30m])`)} >= ${FLAP_CHANGES}`,
        for: "0s",
        labels: { severity: "warning" },
        annotations: {
          summary: "Endpoint {{ $labels.endpoint }} of {{ $labels.cluster }} flaps",
          description: `The tuner ejected and restored {{ $labels.endpoint }} {{ $value }} times in 30 minutes (alert at ${FLAP_CHANGES}): hysteresis does not hold. Look at the decisions of the Cluster detail dashboard.`,
        },
      },
    ],
  },
];
