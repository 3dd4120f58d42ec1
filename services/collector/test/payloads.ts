/**
 * OTLP request bodies for the receiver tests, written in the OTLP JSON form (lowerCamelCase,
 * int64 as strings, hex ids) and encoded to protobuf with the same generated opentelemetry-proto
 * code the collector decodes with. The fleet test uses the real exporters instead.
 */
import { createRequire } from "node:module";
import { LABEL, LATENCY_BUCKETS_SECONDS, PROXY_METRICS, PROXY_RESOURCE, PROXY_SPANS } from "@meshtune/contracts";

const require = createRequire(import.meta.url);
type Msg = {
  fromObject(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
};
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: Record<"metrics" | "trace", { v1: Record<string, Msg> }> } };
};
const C = root.opentelemetry.proto.collector;

export const ns = (ms: number) => String(BigInt(Math.round(ms)) * 1_000_000n);
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

export function resource(proxy: string) {
  return { attributes: [str(PROXY_RESOURCE.serviceInstanceId.name, proxy), str("service.name", "meshtune-proxy")] };
}

export interface AttemptPoint {
  cluster: string;
  endpoint: string;
  statusClass: string;
  value: number;
  startMs: number;
  timeMs: number;
}

export function attemptsMetric(points: readonly AttemptPoint[]) {
  return {
    name: PROXY_METRICS.requests.name,
    sum: {
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: points.map((p) => ({
        attributes: [
          str(LABEL.cluster, p.cluster),
          str(LABEL.endpoint, p.endpoint),
          str(LABEL.statusClass, p.statusClass),
        ],
        startTimeUnixNano: ns(p.startMs),
        timeUnixNano: ns(p.timeMs),
        asDouble: p.value,
      })),
    },
  };
}

export function latencyMetric(p: {
  cluster: string;
  endpoint: string;
  startMs: number;
  timeMs: number;
  counts: number[];
  bounds?: number[];
  count?: number;
}) {
  const bounds = p.bounds ?? [...LATENCY_BUCKETS_SECONDS];
  // With the catalog's bounds, missing trailing buckets are zero (a valid point); explicit
  // bounds are used as given (the bad-input tests send mismatches on purpose).
  const counts = p.bounds
    ? p.counts
    : [...p.counts, ...new Array(Math.max(0, bounds.length + 1 - p.counts.length)).fill(0)];
  return {
    name: PROXY_METRICS.requestDuration.name,
    histogram: {
      aggregationTemporality: 2,
      dataPoints: [
        {
          attributes: [str(LABEL.cluster, p.cluster), str(LABEL.endpoint, p.endpoint)],
          startTimeUnixNano: ns(p.startMs),
          timeUnixNano: ns(p.timeMs),
          count: String(p.count ?? counts.reduce((a, b) => a + b, 0)),
          sum: 0.01,
          bucketCounts: counts.map(String),
          explicitBounds: bounds,
        },
      ],
    },
  };
}

export function metricsRequest(proxy: string, metrics: unknown[]) {
  return { resourceMetrics: [{ resource: resource(proxy), scopeMetrics: [{ scope: { name: "test" }, metrics }] }] };
}

export function warmupFailureSpan(p: {
  cluster: string;
  endpoint: string;
  atMs: number;
  extra?: { key: string; value: unknown }[];
}) {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    name: PROXY_SPANS.warmupFailure.name,
    kind: 1,
    startTimeUnixNano: ns(p.atMs),
    endTimeUnixNano: ns(p.atMs),
    attributes: [
      str("meshtune.cluster", p.cluster),
      str("meshtune.endpoint", p.endpoint),
      str("meshtune.warmup.outcome", "connect_failed"),
      ...(p.extra ?? []),
    ],
  };
}

export function configNackSpan(atMs: number) {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319d",
    spanId: "b7ad6b7169203332",
    name: PROXY_SPANS.configApply.name,
    kind: 1,
    startTimeUnixNano: ns(atMs),
    endTimeUnixNano: ns(atMs),
    attributes: [
      str("meshtune.config.result", "NACK"),
      str("meshtune.config.kind", "control"),
      { key: "meshtune.config.version", value: { intValue: "7" } },
    ],
  };
}

export function tracesRequest(proxy: string, spans: unknown[]) {
  return { resourceSpans: [{ resource: resource(proxy), scopeSpans: [{ scope: { name: "test" }, spans }] }] };
}

export function toProtobuf(signal: "metrics" | "traces", obj: unknown): Uint8Array {
  const t = signal === "metrics" ? C.metrics.v1.ExportMetricsServiceRequest! : C.trace.v1.ExportTraceServiceRequest!;
  return t.encode(t.fromObject(obj)).finish();
}

export function decodeResponse(signal: "metrics" | "traces", body: Uint8Array): unknown {
  const t = signal === "metrics" ? C.metrics.v1.ExportMetricsServiceResponse! : C.trace.v1.ExportTraceServiceResponse!;
  return t.decode(body);
}
