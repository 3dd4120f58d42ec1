/**
 * ExportMetricsServiceRequest -> window points, grouped per (cluster, proxy instance) so the
 * store runs one script per group. Pure: no I/O, the receive time is passed in.
 *
 * A point is one of: used (it becomes a window point), ignored (a metric or resource the
 * collector does not use: counted, never an error) or rejected (a point of a metric we use that
 * cannot be used: missing labels, wrong type, buckets that do not match the bounds, a bad
 * value). Rejected points are reported to the exporter as a partial success.
 */
import { BUCKET_KIND, bucketField, gaugeField, type WindowBatch, type WindowPoint } from "@meshtune/adapters";
import { LABEL, PROXY_RESOURCE } from "@meshtune/contracts";
import { stringAttr } from "./attributes.js";
import { type CounterRule, type GaugeRule, type HistogramRule, METRIC_RULES } from "./catalog.js";
import {
  type ExportMetricsRequest,
  type HistogramDataPoint,
  int64,
  type Metric,
  type NumberDataPoint,
} from "./proto.js";

export interface MetricsExtract {
  batches: WindowBatch[];
  /** Every data point in the request. */
  points: number;
  ignored: number;
  rejected: Map<string, number>;
}

/** OTLP AggregationTemporality: 1 = DELTA, 2 = CUMULATIVE. */
const DELTA = 1;

interface Ctx {
  receivedAt: number;
  out: MetricsExtract;
  /** (cluster, proxy) -> points */
  groups: Map<string, WindowBatch & { points: WindowPoint[] }>;
  proxy: string;
}

function reject(ctx: Ctx, reason: string, n = 1): void {
  ctx.out.rejected.set(reason, (ctx.out.rejected.get(reason) ?? 0) + n);
}

function push(ctx: Ctx, cluster: string, p: WindowPoint): void {
  const key = `${cluster}\n${ctx.proxy}`;
  let g = ctx.groups.get(key);
  if (!g) {
    g = { cluster, proxy: ctx.proxy, receivedAt: ctx.receivedAt, points: [] };
    ctx.groups.set(key, g);
  }
  g.points.push(p);
}

function countPoints(m: Metric): number {
  return (
    (m.gauge?.dataPoints?.length ?? 0) +
    (m.sum?.dataPoints?.length ?? 0) +
    (m.histogram?.dataPoints?.length ?? 0) +
    (m.exponentialHistogram?.dataPoints?.length ?? 0) +
    (m.summary?.dataPoints?.length ?? 0)
  );
}

export function extractMetrics(req: ExportMetricsRequest, receivedAt: number): MetricsExtract {
  const out: MetricsExtract = { batches: [], points: 0, ignored: 0, rejected: new Map() };
  const ctx: Ctx = { receivedAt, out, groups: new Map(), proxy: "" };
  for (const rm of req.resourceMetrics ?? []) {
    const proxy = stringAttr(rm.resource?.attributes, PROXY_RESOURCE.serviceInstanceId.name);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const n = countPoints(m);
        out.points += n;
        const rule = METRIC_RULES.get(m.name ?? "");
        if (!rule) {
          out.ignored += n;
          continue;
        }
        if (!proxy) {
          reject(ctx, "missing_instance_id", n);
          continue;
        }
        ctx.proxy = proxy;
        metric(ctx, m, rule, n);
      }
    }
  }
  out.batches = [...ctx.groups.values()];
  return out;
}

function metric(ctx: Ctx, m: Metric, rule: CounterRule | HistogramRule | GaugeRule, n: number): void {
  if (rule.type === "counter") {
    if (!m.sum) return reject(ctx, "wrong_type", n);
    const temporality = m.sum.aggregationTemporality === DELTA ? "delta" : "cumulative";
    for (const dp of m.sum.dataPoints ?? []) counter(ctx, rule, dp, temporality);
  } else if (rule.type === "histogram") {
    if (!m.histogram) return reject(ctx, "wrong_type", n);
    const temporality = m.histogram.aggregationTemporality === DELTA ? "delta" : "cumulative";
    for (const dp of m.histogram.dataPoints ?? []) histogram(ctx, rule, dp, temporality);
  } else {
    const points = m.gauge?.dataPoints ?? m.sum?.dataPoints;
    if (!points) return reject(ctx, "wrong_type", n);
    for (const dp of points) gauge(ctx, rule, dp);
  }
}

/** Cluster and endpoint labels of a point, or undefined (rejected). */
function where(ctx: Ctx, dp: { attributes?: NumberDataPoint["attributes"] }) {
  const cluster = stringAttr(dp.attributes, LABEL.cluster);
  const endpoint = stringAttr(dp.attributes, LABEL.endpoint);
  if (!cluster || !endpoint || endpoint.includes("|")) {
    reject(ctx, "missing_label");
    return undefined;
  }
  return { cluster, endpoint };
}

function times(dp: NumberDataPoint | HistogramDataPoint): { startUs: number; timeUs: number } {
  return { startUs: Math.floor(int64(dp.startTimeUnixNano) / 1000), timeUs: Math.floor(int64(dp.timeUnixNano) / 1000) };
}

function counter(ctx: Ctx, rule: CounterRule, dp: NumberDataPoint, temporality: "delta" | "cumulative") {
  const at = where(ctx, dp);
  if (!at) return;
  const value = dp.asDouble ?? (dp.asInt !== null && dp.asInt !== undefined ? int64(dp.asInt) : Number.NaN);
  if (!Number.isFinite(value) || value < 0) return reject(ctx, "bad_value");
  const lv = rule.label ? stringAttr(dp.attributes, rule.label) : undefined;
  if (rule.label && (!lv || lv.includes("|"))) return reject(ctx, "missing_label");
  const sv = rule.seriesLabel ? (stringAttr(dp.attributes, rule.seriesLabel) ?? "") : "";
  const isFail = rule.fail === "all" || (lv !== undefined && rule.fail?.has(lv) === true);
  const isOk = lv !== undefined && rule.ok?.has(lv) === true;
  const proxyKind = isFail ? BUCKET_KIND.failByProxy : isOk ? BUCKET_KIND.okByProxy : undefined;
  push(ctx, at.cluster, {
    type: "counter",
    series: `${rule.kind}|${at.endpoint}|${lv ?? ""}|${sv}`,
    ...times(dp),
    temporality,
    value,
    field: bucketField(at.endpoint, rule.kind, lv),
    ...(proxyKind ? { proxyField: bucketField(at.endpoint, proxyKind) } : {}),
  });
}

function sameBounds(a: readonly number[] | undefined, b: readonly number[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-12 * Math.max(1, Math.abs(b[i]!))) return false;
  return true;
}

function histogram(ctx: Ctx, rule: HistogramRule, dp: HistogramDataPoint, temporality: "delta" | "cumulative") {
  const at = where(ctx, dp);
  if (!at) return;
  // Buckets merge bucket-wise only when every proxy uses the same bounds (the catalog's).
  if (!sameBounds(dp.explicitBounds, rule.bounds)) return reject(ctx, "bad_histogram");
  const counts = (dp.bucketCounts ?? []).map(int64);
  if (counts.length !== rule.bounds.length + 1) return reject(ctx, "bad_histogram");
  let total = 0;
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0) return reject(ctx, "bad_histogram");
    total += c;
  }
  const count = int64(dp.count);
  const sum = dp.sum ?? 0;
  if (total !== count || !Number.isFinite(sum)) return reject(ctx, "bad_histogram");
  push(ctx, at.cluster, {
    type: "histogram",
    series: `${rule.kind}|${at.endpoint}`,
    ...times(dp),
    temporality,
    count,
    sum,
    counts,
    field: bucketField(at.endpoint, rule.kind),
  });
}

function gauge(ctx: Ctx, rule: GaugeRule, dp: NumberDataPoint) {
  const at = where(ctx, dp);
  if (!at) return;
  const value = dp.asDouble ?? (dp.asInt !== null && dp.asInt !== undefined ? int64(dp.asInt) : Number.NaN);
  if (!Number.isFinite(value)) return reject(ctx, "bad_value");
  const g = rule.gauge ?? (rule.label ? rule.byLabel?.[stringAttr(dp.attributes, rule.label) ?? ""] : undefined);
  if (!g) return reject(ctx, "missing_label");
  push(ctx, at.cluster, {
    type: "gauge",
    field: gaugeField(at.endpoint, g),
    timeMs: Math.floor(int64(dp.timeUnixNano) / 1e6),
    value,
  });
}
