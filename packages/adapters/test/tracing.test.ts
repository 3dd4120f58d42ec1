/**
 * The tracing helpers with and without an SDK (docs/decisions/0018-tuner-tracing.md): untraced,
 * nothing is written (no traceparent reaches a job or a decision); traced, a traceparent round
 * trips, a span's error is recorded and rethrown, and a link names the other trace.
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  StackContextManager,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contextOf, inSpan, linkTo, traceparentOf } from "../src/tracing.js";

describe("tracing helpers", () => {
  it("write no traceparent and still run the work when no SDK is registered", async () => {
    expect(await inSpan("x", {}, async () => traceparentOf())).toBeUndefined();
    expect(linkTo(undefined)).toEqual([]);
  });

  describe("with an SDK", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    beforeAll(() => {
      trace.setGlobalTracerProvider(provider);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      context.setGlobalContextManager(new StackContextManager().enable());
    });
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    });

    it("carries a trace across a traceparent string, records errors, links other traces", async () => {
      const tp = await inSpan("first", {}, async () => traceparentOf());
      expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      await expect(
        inSpan("second", { parent: contextOf(tp), links: linkTo(tp) }, async () => {
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      const [first, second] = exporter.getFinishedSpans();
      expect(second?.spanContext().traceId).toBe(first?.spanContext().traceId);
      expect(second?.parentSpanContext?.spanId).toBe(first?.spanContext().spanId);
      expect(second?.status).toMatchObject({ code: 2, message: "boom" });
      expect(second?.links[0]?.context.spanId).toBe(first?.spanContext().spanId);
    });
  });
});
