// OTLP payloads made by the real OpenTelemetry JS SDK and the serializers its OTLP/HTTP
// protobuf exporters use (@opentelemetry/otlp-transformer, the release the proxy ships with):
// a proxy's metric export with the catalog's instruments over E endpoints, and trace exports of
// request spans and of fast-signal spans.

import {
  ATTR,
  LATENCY_BUCKETS_SECONDS,
  PROXY_METRICS as M,
  PROXY_SPANS,
  SHORT_BUCKETS_SECONDS,
} from "@meshtune/contracts";
import { SpanKind } from "@opentelemetry/api";
import { ProtobufMetricsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer-current";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AggregationTemporality, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  async onForceFlush() {}
  async onShutdown() {}
}

const resourceOf = (proxy) =>
  resourceFromAttributes({ "service.name": "meshtune-proxy", "service.instance.id": proxy });

/** A fleet member's metrics over `endpoints` endpoints; `round()` records one interval and returns its ResourceMetrics. */
export function metricSource({ endpoints, cluster = "bench" }) {
  const reader = new Reader();
  const provider = new MeterProvider({ resource: resourceOf("template"), readers: [reader] });
  const meter = provider.getMeter("meshtune-proxy");
  const counter = (d) => meter.createCounter(d.name, { description: d.help });
  const hist = (d, b) =>
    meter.createHistogram(d.name, { description: d.help, unit: "s", advice: { explicitBucketBoundaries: [...b] } });
  const gauge = (d) => meter.createGauge(d.name, { description: d.help });
  const i = {
    req: counter(M.requests),
    dur: hist(M.requestDuration, LATENCY_BUCKETS_SECONDS),
    wait: hist(M.poolWait, SHORT_BUCKETS_SECONDS),
    conn: hist(M.connectDuration, SHORT_BUCKETS_SECONDS),
    cf: counter(M.connectFailures),
    wu: counter(M.warmup),
    hc: counter(M.healthChecks),
    picks: counter(M.lbPicks),
    inflight: gauge(M.inFlight),
    pool: gauge(M.poolConnections),
    pending: gauge(M.poolPending),
    score: gauge(M.lbScore),
    flags: gauge(M.healthFlags),
  };
  const eps = Array.from({ length: endpoints }, (_, k) => `10.${(k >> 8) & 255}.${k & 255}.1:443`);
  let n = 0;
  return {
    async round() {
      n++;
      for (const endpoint of eps) {
        const a = { cluster, endpoint };
        i.req.add(20 + n, { ...a, status_class: "2xx" });
        i.req.add(n % 3, { ...a, status_class: "5xx" });
        for (let k = 0; k < 5; k++) {
          i.dur.record(0.002 * (k + 1), a);
          i.wait.record(0.0001 * k, a);
        }
        i.conn.record(0.003, a);
        i.cf.add(1, { ...a, reason: "timeout" });
        i.wu.add(1, { ...a, outcome: "ready" });
        i.hc.add(1, { ...a, result: "success" });
        i.picks.add(21, { ...a, policy: "least_request" });
        i.inflight.record(n % 7, a);
        for (const state of ["idle", "active", "connecting"]) i.pool.record(2, { ...a, state });
        i.pending.record(0, a);
        i.score.record(1.5, a);
        for (const flag of [
          "failed_active_hc",
          "ejected_outlier",
          "failed_warmup",
          "draining",
          "ejected_control_plane",
        ])
          i.flags.record(0, { ...a, flag });
      }
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics;
    },
    close: () => provider.shutdown(),
  };
}

/** The bytes a proxy with id `proxy` would POST to /v1/metrics for `rm`. */
export function serializeMetrics(rm, proxy) {
  return ProtobufMetricsSerializer.serializeRequest({ ...rm, resource: resourceOf(proxy) });
}

export function countPoints(rm) {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

/** `count` spans like the proxy's (request server+client pairs, or fast-signal spans), serialized. */
export async function spanPayload({ count, fast, proxy = "bench-proxy", cluster = "bench" }) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceOf(proxy),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer("meshtune-proxy");
  for (let k = 0; k < count; k++) {
    const endpoint = `10.0.${k % 50}.1:443`;
    if (fast) {
      const s = tracer.startSpan(PROXY_SPANS.warmupFailure.name, {
        kind: SpanKind.INTERNAL,
        root: true,
        attributes: {
          [ATTR.cluster]: cluster,
          [ATTR.endpoint]: endpoint,
          [ATTR.warmupOutcome]: "connect_failed",
          [ATTR.detail]: "connect ETIMEDOUT",
        },
      });
      s.end();
    } else {
      const s = tracer.startSpan("GET", {
        kind: k % 2 ? SpanKind.CLIENT : SpanKind.SERVER,
        attributes: {
          "http.request.method": "GET",
          "http.response.status_code": 200,
          "server.address": "api.example.com",
          "url.path": "/v1/items",
          [ATTR.cluster]: cluster,
          [ATTR.endpoint]: endpoint,
          [ATTR.lbPolicy]: "least_request",
          [ATTR.poolWaitMs]: 0.1,
          [ATTR.connectionReused]: true,
        },
      });
      s.end();
    }
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  if (spans.length !== count) throw new Error(`expected ${count} spans, got ${spans.length}`);
  return ProtobufTraceSerializer.serializeRequest(spans);
}
