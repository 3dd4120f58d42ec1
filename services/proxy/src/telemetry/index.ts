/**
 * The proxy's telemetry adapter (issue #6): turns the data plane's typed events and hooks into
 * OpenTelemetry traces and metrics, exported over OTLP/HTTP (protobuf), and serves the same
 * metrics at /metrics on the admin port. The data plane knows nothing of OTel (DESIGN.md §5).
 *
 * Three pipelines share one resource:
 * - request traces: ParentBased(TraceIdRatio) head sampling, bounded batch queue (5 s delay, the SDK default);
 * - fast signals: always sampled, own exporter, bounded queue flushed within ~10 ms;
 * - metrics: one MeterProvider, read by an OTLP push reader and by the /metrics pull reader
 *   (never sampled; one set of instruments, so nothing is counted twice).
 *
 * Why not @opentelemetry/sdk-node: see docs/decisions/0005-proxy-telemetry.md.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AttemptInfo, ClusterEvent, ForwardHooks, Host, RequestInfo } from "@meshtune/dataplane";
import type { Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  MeterProvider,
  type MetricProducer,
  MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { TELEMETRY_DEFAULTS } from "./config.js";
import { ProxyMetrics, type ProxyView } from "./metrics.js";
import { BoundedSpanProcessor, type DropReason } from "./processor.js";
import { RequestStats } from "./request-stats.js";
import { proxyResource } from "./resource.js";
import { type ConfigApplication, FastSignals } from "./signals.js";
import { RequestTracing, StagedIdGenerator, type TraceCtx } from "./tracing.js";

export { resolveTelemetrySettings, TELEMETRY_DEFAULTS, TELEMETRY_ENV, type TelemetrySettings } from "./config.js";
export { BoundedSpanProcessor } from "./processor.js";
export { proxyResourceAttributes } from "./resource.js";
export type { ConfigApplication } from "./signals.js";

export interface QueueOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  delayMs?: number;
}

export interface ProxyTelemetryOptions {
  /** service.instance.id: the proxy id. */
  instanceId: string;
  /** The proxy's zone (proxy.zone in the config). */
  zone?: string;
  /** Where the k8s.* resource attributes are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** OTLP/HTTP base URL (default http://127.0.0.1:4318). */
  otlpEndpoint?: string;
  /** Head-sampling ratio for request traces without a sampled parent (default 0.01). */
  sampleRatio?: number;
  /** OTLP metrics push interval (default 10 s). */
  metricsIntervalMs?: number;
  /** Exporters replacing the OTLP ones (tests: in-memory exporters). */
  traceExporter?: SpanExporter;
  fastSignalExporter?: SpanExporter;
  metricExporter?: PushMetricExporter;
  /** Request-trace queue (default 4096 spans, batches of 512, 5 s delay). */
  traceQueue?: QueueOptions;
  /** Fast-signal queue (default 1024 spans, batches of 256, 10 ms delay). */
  fastQueue?: QueueOptions;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Reads on demand (scrape): cumulative, like every Prometheus counter. */
class PullReader extends MetricReader {
  constructor(producers: MetricProducer[]) {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE, metricProducers: producers });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Logs the first failure of a kind (an export, a hook), then at most once a minute (drops are counted anyway). */
function failureLogger(log: ProxyTelemetryOptions["log"]) {
  const last = new Map<string, number>();
  return (signal: string, err: Error | undefined) => {
    const now = Date.now();
    if (now - (last.get(signal) ?? -Infinity) < 60_000) return;
    last.set(signal, now);
    log?.("warn", signal === "hook" ? "telemetry hook failed" : "telemetry export failed", {
      signal,
      error: err?.message ?? "unknown error",
    });
  };
}

export class ProxyTelemetry {
  readonly resource: Resource;
  readonly #tracerProvider: TracerProvider;
  readonly #fastProvider: TracerProvider;
  readonly #meterProvider: MeterProvider;
  readonly #pull: PullReader;
  readonly #requestStats: RequestStats;
  readonly #serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  readonly #metrics: ProxyMetrics;
  readonly #tracing: RequestTracing;
  readonly #signals: FastSignals;
  #proxy: ProxyView | undefined;
  #shutdown: Promise<void> | undefined;

  /** Pass to EgressProxy({ onClusterEvent }). */
  readonly onClusterEvent: (ev: ClusterEvent) => void;
  /** Pass to EgressProxy({ hooks }). */
  readonly hooks: ForwardHooks;
  /** Pass to EgressProxy({ admin: { routes } }): /metrics. */
  readonly adminRoutes: Record<string, AdminHandler>;

  constructor(o: ProxyTelemetryOptions) {
    const endpoint = (o.otlpEndpoint ?? TELEMETRY_DEFAULTS.otlpEndpoint).replace(/\/+$/, "");
    const logFailure = failureLogger(o.log);
    this.resource = proxyResource({ instanceId: o.instanceId, zone: o.zone, env: o.env });

    // Metrics first: the span processors count their drops in a metric.
    this.#requestStats = new RequestStats(this.resource, () => this.#presentEndpoints());
    this.#pull = new PullReader([this.#requestStats]);
    const baseMetricExporter =
      o.metricExporter ??
      new OTLPMetricExporter({
        url: `${endpoint}/v1/metrics`,
        timeoutMillis: 5_000,
        // Request-path totals are cumulative (request-stats.ts); keep every metric so.
        temporalityPreference: AggregationTemporality.CUMULATIVE,
      });
    const metricExporter: PushMetricExporter = {
      export: (metrics, done) =>
        baseMetricExporter.export(metrics, (r) => {
          if (r.code !== ExportResultCode.SUCCESS) logFailure("metrics", r.error);
          done(r);
        }),
      forceFlush: () => baseMetricExporter.forceFlush(),
      shutdown: () => baseMetricExporter.shutdown(),
      selectAggregationTemporality: baseMetricExporter.selectAggregationTemporality?.bind(baseMetricExporter),
      selectAggregation: baseMetricExporter.selectAggregation?.bind(baseMetricExporter),
    };
    const intervalMs = o.metricsIntervalMs ?? TELEMETRY_DEFAULTS.metricsIntervalMs;
    this.#meterProvider = new MeterProvider({
      resource: this.resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: metricExporter,
          exportIntervalMillis: intervalMs,
          exportTimeoutMillis: Math.min(intervalMs, 5_000),
          metricProducers: [this.#requestStats],
        }),
        this.#pull,
      ],
    });
    this.#metrics = new ProxyMetrics(this.#meterProvider.getMeter("meshtune-proxy"), () => this.#proxy);

    const onDrop = (signal: "fast" | "traces") => (count: number, reason: DropReason) =>
      this.#metrics.dropped(signal, reason, count);

    const tq = o.traceQueue ?? {};
    const sampler = new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(o.sampleRatio ?? TELEMETRY_DEFAULTS.sampleRatio),
    });
    const ids = new StagedIdGenerator();
    this.#tracerProvider = new TracerProvider({
      resource: this.resource,
      sampler,
      idGenerator: ids,
      spanProcessors: [
        new BoundedSpanProcessor({
          exporter: o.traceExporter ?? new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, timeoutMillis: 10_000 }),
          maxQueueSize: tq.maxQueueSize ?? 4096,
          maxExportBatchSize: tq.maxExportBatchSize ?? 512,
          delayMs: tq.delayMs ?? 5_000,
          onDrop: onDrop("traces"),
          onExportError: (err) => logFailure("traces", err),
        }),
      ],
    });
    const fq = o.fastQueue ?? {};
    this.#fastProvider = new TracerProvider({
      resource: this.resource,
      sampler: new AlwaysOnSampler(),
      spanProcessors: [
        new BoundedSpanProcessor({
          // A separate exporter: a fast signal never waits behind a large batch of request spans.
          exporter:
            o.fastSignalExporter ?? new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, timeoutMillis: 2_000 }),
          maxQueueSize: fq.maxQueueSize ?? 1024,
          maxExportBatchSize: fq.maxExportBatchSize ?? 256,
          delayMs: fq.delayMs ?? 10,
          onDrop: onDrop("fast"),
          onExportError: (err) => logFailure("fast", err),
        }),
      ],
    });
    const tracer: Tracer = this.#tracerProvider.getTracer("meshtune-proxy");
    this.#tracing = new RequestTracing(tracer, () => this.#proxy, sampler, ids);
    this.#signals = new FastSignals(this.#fastProvider.getTracer("meshtune-proxy/signals"));

    const tracing = this.#tracing;
    const metrics = this.#metrics;
    const stats = this.#requestStats;
    // Telemetry must never break traffic or the data plane: a failure in a hook is logged
    // (rate-limited) and the request goes on without it.
    const guard = (err: unknown) => logFailure("hook", err as Error);
    this.hooks = {
      onRequestStart: (req: IncomingMessage) => {
        try {
          return tracing.start(req);
        } catch (err) {
          guard(err);
          return undefined;
        }
      },
      onAttemptStart: (ctx: unknown, cluster: string, host: Host, attempt: number, score: number | undefined) => {
        try {
          return ctx ? tracing.attemptStart(ctx as TraceCtx, cluster, host, attempt, score) : undefined;
        } catch (err) {
          guard(err);
          return undefined;
        }
      },
      onAttempt: (a: AttemptInfo) => {
        try {
          stats.attempt(a);
          if (a.ctx) tracing.attemptEnd(a.ctx as TraceCtx, a);
        } catch (err) {
          guard(err);
        }
      },
      onRequest: (r: RequestInfo) => {
        try {
          stats.request(r);
          if (r.ctx) tracing.end(r.ctx as TraceCtx, r);
        } catch (err) {
          guard(err);
        }
      },
    };
    this.onClusterEvent = (ev: ClusterEvent) => {
      try {
        metrics.clusterEvent(ev);
        this.#signals.clusterEvent(ev);
      } catch (err) {
        guard(err);
      }
    };
    this.adminRoutes = {
      "/metrics": async (_req, res) => {
        const text = await this.prometheusText();
        res.writeHead(200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      },
    };
  }

  #presentEndpoints(): ReadonlySet<string> | undefined {
    const proxy = this.#proxy;
    if (!proxy) return undefined;
    const keys = new Set<string>();
    for (const rt of proxy.clusters.values())
      for (const h of rt.hosts.hosts) keys.add(RequestStats.key(rt.name, h.key));
    return keys;
  }

  /** The proxy whose state the gauges read at collection time (call right after constructing it). */
  attach(proxy: ProxyView): void {
    this.#proxy = proxy;
  }

  /** Record an applyConfig / applyControl outcome: a counter and a fast signal. */
  /** A control snapshot refused by the config client (forged, unsigned, other cluster, ...). */
  controlRefused(reason: string): void {
    this.#metrics.controlRefused(reason);
  }

  configApplied(c: ConfigApplication): void {
    this.#metrics.configApplied(c.kind, c.result);
    this.#signals.configApplied(c);
  }

  /** Collect the current metrics (what /metrics serves). */
  async collect(): Promise<ResourceMetrics> {
    const { resourceMetrics } = await this.#pull.collect();
    return resourceMetrics;
  }

  async prometheusText(): Promise<string> {
    return this.#serializer.serialize(await this.collect());
  }

  /** Export everything queued now (metrics included). */
  async forceFlush(): Promise<void> {
    await Promise.all([
      this.#fastProvider.forceFlush(),
      this.#tracerProvider.forceFlush(),
      this.#meterProvider.forceFlush(),
    ]);
  }

  /** Flush and stop; gives up after timeoutMs so a dead collector cannot hold SIGTERM. */
  shutdown(timeoutMs = 2_000): Promise<void> {
    this.#shutdown ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
        timer.unref();
      });
      const stop = Promise.allSettled([
        this.#fastProvider.shutdown(),
        this.#tracerProvider.shutdown(),
        this.#meterProvider.shutdown(),
      ]).then(() => undefined);
      await Promise.race([stop, deadline]);
      clearTimeout(timer);
    })();
    return this.#shutdown;
  }
}
