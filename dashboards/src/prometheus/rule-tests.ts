/**
 * promtool rule unit tests (`promtool test rules`), as data; generate.ts writes them to
 * infra/prometheus/tests/rules.test.yml. Input series are named through the contracts catalogs
 * like the rules themselves, so a renamed metric breaks the generator, not a silent test.
 * Each alert has a case where it fires and one where it must not.
 */
import {
  LABEL,
  type MetricDef,
  PROXY_METRICS as P,
  SCRAPE_METRICS as S,
  TUNER_METRICS as T,
} from "@meshtune/contracts";
import { ALERT_GROUPS, CONVERGE_WITHIN_SECONDS, FLAP_CHANGES, RECORDED } from "./rules.js";
import { JOBS, METRICS_PORTS } from "./scrape.js";

interface InputSeries {
  series: string;
  values: string;
}
interface ExpAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}
interface PromtoolTest {
  name: string;
  interval: string;
  input_series: InputSeries[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: ExpAlert[] }[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] }[];
}

function labelText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ")}}`;
}

/** One input series of a catalog metric (`suffix` for a histogram's `_bucket` etc.). */
function input(def: MetricDef, labels: Record<string, string>, values: string, suffix = ""): InputSeries {
  return { series: `${def.name}${suffix}${labelText(labels)}`, values };
}

function alertDef(name: string) {
  const a = ALERT_GROUPS.flatMap((g) => g.rules).find((r) => r.alert === name);
  if (!a) throw new Error(`no alert ${name}`);
  return a;
}

/** Expands `{{ $labels.x }}` and `{{ $value }}` as Prometheus's template engine does for these simple cases. */
function expected(name: string, labels: Record<string, string>, value: string): ExpAlert {
  const a = alertDef(name);
  const expand = (t: string) =>
    t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "").replace(/\{\{ \$value \}\}/g, value);
  return {
    exp_labels: { ...labels, ...a.labels },
    exp_annotations: { summary: expand(a.annotations.summary), description: expand(a.annotations.description) },
  };
}

const actuator = { job: JOBS.actuator, instance: `actuator:${METRICS_PORTS.actuator}` };
const engine = { job: JOBS.engine, instance: `engine:${METRICS_PORTS.engine}` };
const collector = { job: JOBS.collector, instance: `collector:${METRICS_PORTS.collector}` };
const proxyA = { job: JOBS.proxy, instance: "proxy-a:15000" };
const api = { [LABEL.cluster]: "api" };
const epA = { ...api, [LABEL.endpoint]: "10.0.0.1:443" };
const epB = { ...api, [LABEL.endpoint]: "10.0.0.2:443" };

function flags(target: Record<string, string>, endpoint: Record<string, string>, set: string[], values: string) {
  const all = ["failed_active_hc", "ejected_outlier", "failed_warmup", "draining", "ejected_control_plane"];
  return all.map((flag) =>
    input(P.healthFlags, { ...target, ...endpoint, [LABEL.flag]: flag }, set.includes(flag) ? values : "0+0x40"),
  );
}

export const RULE_TESTS: PromtoolTest[] = [
  {
    name: "recording: request rate, error ratio and ejected endpoints per cluster",
    interval: "15s",
    input_series: [
      input(P.requests, { ...proxyA, ...epA, [LABEL.statusClass]: "2xx" }, "0+45x20"),
      input(P.requests, { ...proxyA, ...epA, [LABEL.statusClass]: "5xx" }, "0+15x20"),
      ...flags(proxyA, epA, [], ""),
      ...flags(proxyA, epB, ["ejected_outlier"], "1+0x40"),
    ],
    promql_expr_test: [
      {
        expr: RECORDED.upstreamRate,
        eval_time: "2m",
        exp_samples: [{ labels: `${RECORDED.upstreamRate}${labelText(epA)}`, value: 4 }],
      },
      {
        expr: RECORDED.upstreamErrorRatio,
        eval_time: "2m",
        exp_samples: [{ labels: `${RECORDED.upstreamErrorRatio}${labelText(epA)}`, value: 0.25 }],
      },
      {
        expr: RECORDED.ejectedEndpoints,
        eval_time: "2m",
        exp_samples: [{ labels: `${RECORDED.ejectedEndpoints}${labelText(api)}`, value: 1 }],
      },
      {
        expr: RECORDED.ejectedRatio,
        eval_time: "2m",
        exp_samples: [{ labels: `${RECORDED.ejectedRatio}${labelText(api)}`, value: 0.5 }],
      },
    ],
  },
  {
    name: "recording: p99 upstream latency from the histogram buckets",
    interval: "15s",
    input_series: [
      // 90 % of requests within 10 ms, all within 100 ms: p99 interpolates inside (0.05, 0.1].
      input(P.requestDuration, { ...proxyA, ...epA, le: "0.01" }, "0+90x20", "_bucket"),
      input(P.requestDuration, { ...proxyA, ...epA, le: "0.05" }, "0+90x20", "_bucket"),
      input(P.requestDuration, { ...proxyA, ...epA, le: "0.1" }, "0+100x20", "_bucket"),
      input(P.requestDuration, { ...proxyA, ...epA, le: "+Inf" }, "0+100x20", "_bucket"),
    ],
    promql_expr_test: [
      // 0.05 + (99 - 90) / 10 * 0.05 = 0.095, as Prometheus's float arithmetic computes it.
      {
        expr: RECORDED.upstreamP99,
        eval_time: "2m",
        exp_samples: [{ labels: `${RECORDED.upstreamP99}${labelText(epA)}`, value: 0.09500000000000003 }],
      },
    ],
  },
  {
    name: `alert: a version not ACKed by every proxy within ${CONVERGE_WITHIN_SECONDS} s`,
    interval: "15s",
    input_series: [
      input(T.actuatorConverged, { ...actuator, ...api }, "1 1 1 0x20"),
      input(T.actuatorConverged, { ...actuator, [LABEL.cluster]: "billing" }, "1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0"),
    ],
    alert_rule_test: [
      { eval_time: "30s", alertname: "MeshtuneConfigNotConverged", exp_alerts: [] },
      {
        eval_time: "3m",
        alertname: "MeshtuneConfigNotConverged",
        exp_alerts: [expected("MeshtuneConfigNotConverged", api, "0")],
      },
    ],
  },
  {
    name: "alert: ejection cap reached for 5 minutes",
    interval: "1m",
    input_series: [
      input(T.engineEjected, { ...engine, ...api }, "0 1 2x10"),
      input(T.engineEjectionCap, { ...engine, ...api }, "2x12"),
      input(T.engineEjected, { ...engine, [LABEL.cluster]: "billing" }, "0x12"),
      input(T.engineEjectionCap, { ...engine, [LABEL.cluster]: "billing" }, "0x12"),
    ],
    alert_rule_test: [
      { eval_time: "4m", alertname: "MeshtuneEjectionCapReached", exp_alerts: [] },
      {
        eval_time: "8m",
        alertname: "MeshtuneEjectionCapReached",
        exp_alerts: [expected("MeshtuneEjectionCapReached", { ...engine, ...api }, "2")],
      },
    ],
  },
  {
    name: "alert: collector rejecting data for 10 minutes",
    interval: "1m",
    input_series: [
      input(T.collectorRejected, { ...collector, what: "points", reason: "malformed" }, "0+60x30"),
      input(T.collectorRejected, { ...collector, what: "requests", reason: "too_large" }, "0 1 1x30"),
    ],
    alert_rule_test: [
      { eval_time: "5m", alertname: "MeshtuneCollectorRejecting", exp_alerts: [] },
      {
        eval_time: "20m",
        alertname: "MeshtuneCollectorRejecting",
        exp_alerts: [expected("MeshtuneCollectorRejecting", { job: collector.job, reason: "malformed" }, "1")],
      },
    ],
  },
  {
    name: "alert: outbox growing for 10 minutes",
    interval: "1m",
    input_series: [
      input(T.actuatorOutboxDepth, { ...actuator, ...api }, "0 0 0+5x30"),
      input(
        T.actuatorOutboxDepth,
        { ...actuator, [LABEL.cluster]: "billing" },
        "3 0 4 0 2 0 5 0 1 0 3 0 2 0 4 0 1 0 3 0 2 0 4 0 1 0 3 0 2 0",
      ),
    ],
    alert_rule_test: [
      { eval_time: "8m", alertname: "MeshtuneOutboxGrowing", exp_alerts: [] },
      {
        eval_time: "25m",
        alertname: "MeshtuneOutboxGrowing",
        exp_alerts: [expected("MeshtuneOutboxGrowing", { ...actuator, ...api }, "50")],
      },
    ],
  },
  {
    name: "alert: proxy down, or every endpoint of a cluster flagged",
    interval: "15s",
    input_series: [
      input(S.up, proxyA, "1x40"),
      input(S.up, { job: JOBS.proxy, instance: "proxy-b:15000" }, "1 1 0x40"),
      ...flags(proxyA, epA, ["failed_warmup"], "0 0 0 0 1x40"),
      ...flags(proxyA, epB, ["ejected_outlier"], "1x40"),
    ],
    alert_rule_test: [
      { eval_time: "30s", alertname: "MeshtuneProxyNotReady", exp_alerts: [] },
      {
        eval_time: "5m",
        alertname: "MeshtuneProxyNotReady",
        exp_alerts: [
          expected("MeshtuneProxyNotReady", { job: JOBS.proxy, instance: "proxy-b:15000" }, "0"),
          expected("MeshtuneProxyNotReady", { instance: proxyA.instance, ...api }, "1"),
        ],
      },
    ],
  },
  {
    name: `alert: the tuner's ejection of one endpoint flips ${FLAP_CHANGES}+ times in 30 minutes`,
    interval: "1m",
    input_series: [
      ...flags(proxyA, epA, ["ejected_control_plane"], "0 1 1 0 0 1 1 0 0 1 1x20"),
      ...flags(proxyA, epB, ["ejected_control_plane"], "0 1x30"),
    ],
    alert_rule_test: [
      { eval_time: "4m", alertname: "MeshtuneDecisionFlapping", exp_alerts: [] },
      {
        eval_time: "12m",
        alertname: "MeshtuneDecisionFlapping",
        exp_alerts: [expected("MeshtuneDecisionFlapping", epA, "5")],
      },
    ],
  },
];

/** The promtool test file for the given rule files (paths relative to the test file). */
export function ruleTestFile(ruleFiles: string[]): Record<string, unknown> {
  return { rule_files: ruleFiles, evaluation_interval: "15s", tests: RULE_TESTS };
}
