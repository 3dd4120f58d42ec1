/**
 * The tuner's own tracing SDK (docs/decisions/0018-tuner-tracing.md): @opentelemetry/sdk-node,
 * for the service entry points only (a separate export, `@meshtune/adapters/tracing-sdk`, so
 * library code never reaches it), started by a run function only when there is somewhere to send spans — an OTLP/HTTP
 * endpoint (`--otlp-endpoint`, else OTEL_EXPORTER_OTLP_ENDPOINT) or span processors a test hands
 * in. Otherwise nothing is registered, the API's no-op tracer stays in place, and tracing costs
 * nothing — the SDK is not even loaded (dynamic import: it would add to every CLI start-up).
 * Library code (collector, engine, actuator, adapters) only ever sees @opentelemetry/api.
 */
import type { SpanProcessor } from "@opentelemetry/sdk-trace";

export interface TracingOptions {
  /** `service.name` of the spans (meshtune-tuner, meshtune-collector, ...). */
  serviceName: string;
  /** OTLP/HTTP base URL (`/v1/traces` is appended), e.g. http://127.0.0.1:4318. */
  endpoint?: string;
  /** Extra processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  /** Flushes the spans still batched and stops the SDK. */
  shutdown(): Promise<void>;
}

/** The OTLP base URL from a flag or the standard environment variable; undefined: no tracing. */
export function tracingEndpoint(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const raw = flag ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return raw && raw.length > 0 ? raw : undefined;
}

function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/v1/traces") ? base : `${base}/v1/traces`;
}

/** Starts the SDK when there is an endpoint or a processor; undefined (nothing started) otherwise. */
export async function startTracing(o: TracingOptions): Promise<Tracing | undefined> {
  const processors = [...(o.spanProcessors ?? [])];
  if (processors.length === 0 && !o.endpoint) return undefined;
  const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  if (o.endpoint)
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: tracesUrl(o.endpoint) }) }));
  // No auto-instrumentation: the tuner's spans are the ones it starts itself (one trace per
  // decision); instrumenting ioredis or http would bury them under a span per Redis command.
  const sdk = new NodeSDK({ serviceName: o.serviceName, spanProcessors: processors, instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * Runs a service's run function with tracing on when the environment names an OTLP endpoint
 * (the standalone `meshtune collector|engine|actuator`), and flushes the spans after it returns.
 */
export async function withTracing(
  serviceName: string,
  env: NodeJS.ProcessEnv,
  run: () => Promise<number>,
): Promise<number> {
  const tracing = await startTracing({ serviceName, endpoint: tracingEndpoint(undefined, env) });
  try {
    return await run();
  } finally {
    await tracing?.shutdown().catch(() => {});
  }
}
