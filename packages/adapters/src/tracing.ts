/**
 * The tuner's own traces, through @opentelemetry/api only (docs/decisions/0018-tuner-tracing.md):
 * library code starts spans on the global tracer and carries a trace across Redis as a W3C
 * `traceparent` string (in BullMQ job data, in each Decision). Without an SDK registered (the
 * service entry points start one only when an OTLP endpoint is configured) the tracer and the
 * propagator are the API's no-ops: no span is recorded and no traceparent is written.
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { errorMessage } from "./result.js";

export { type Span, SpanKind } from "@opentelemetry/api";

/** Instrumentation scope of every meshtune span. */
export const TRACER_NAME = "meshtune";

/** The `traceparent` of a context (default: the active one); undefined when nothing is traced. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** The context a `traceparent` names; the root context (a new trace) when there is none. */
export function contextOf(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** A link to the span a `traceparent` names (for a span that folds several traces). */
export function linkTo(traceparent: string | undefined): Link[] {
  const sc = traceparent ? trace.getSpanContext(contextOf(traceparent)) : undefined;
  return sc ? [{ context: sc }] : [];
}

export interface SpanOptions {
  /** Default: the active context. */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
}

/**
 * Runs `fn` inside a new active span that ends when `fn` settles; a thrown error is recorded on
 * the span (status ERROR) and rethrown unchanged.
 */
export async function inSpan<T>(name: string, o: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const opts = { kind: o.kind ?? SpanKind.INTERNAL, attributes: o.attributes, links: o.links };
  return tracer.startActiveSpan(name, opts, o.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span that is already over (e.g. one per ACK received): started and ended at once. */
export function recordSpan(name: string, o: SpanOptions & { error?: string }): void {
  const tracer = trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(
    name,
    { kind: o.kind ?? SpanKind.INTERNAL, attributes: o.attributes, links: o.links },
    o.parent ?? context.active(),
  );
  if (o.error) span.setStatus({ code: SpanStatusCode.ERROR, message: o.error });
  span.end();
}
