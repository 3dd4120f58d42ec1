/**
 * Fast failure signals (issue #6): warm-up failures, health-check failures, ejections and
 * un-ejections, and configuration applications, each as its own INTERNAL span on a tracer whose
 * pipeline is always sampled and exports within a few ms (BoundedSpanProcessor with a short
 * delay), so that the tuner can act fleet-wide before the next metric interval — one proxy's
 * warm-up failure ejects the endpoint everywhere (DESIGN.md section 3).
 *
 * Every span is a root span of its own trace: these are events, not parts of a request.
 */
import { ATTR, PROXY_SPANS } from "@meshtune/contracts";
import type { ClusterEvent, Host, OutlierEvent } from "@meshtune/dataplane";
import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { ATTR_HTTP_RESPONSE_STATUS_CODE } from "@opentelemetry/semantic-conventions";
import { healthResult } from "./metrics.js";

export interface ConfigApplication {
  kind: "config" | "control";
  version: number;
  result: "ACK" | "NACK";
  source?: string;
  reason?: string;
}

export class FastSignals {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  #emit(name: string, attributes: Attributes, error: string | undefined, durationMs = 0): void {
    const now = Date.now();
    const span = this.#tracer.startSpan(name, {
      kind: SpanKind.INTERNAL,
      attributes,
      startTime: durationMs > 0 ? now - durationMs : now,
      root: true,
    });
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(now);
  }

  clusterEvent(ev: ClusterEvent): void {
    if (ev.type === "pool") {
      const e = ev.event;
      if (e.type === "warmup" && e.outcome !== "ready") {
        this.#emit(
          PROXY_SPANS.warmupFailure.name,
          { ...endpointAttrs(ev.cluster, ev.host), [ATTR.warmupOutcome]: e.outcome, [ATTR.detail]: e.detail },
          e.detail,
        );
      } else if (e.type === "health" && !e.ok) {
        const attrs: Attributes = {
          ...endpointAttrs(ev.cluster, ev.host),
          [ATTR.healthResult]: healthResult(e),
          [ATTR.detail]: e.detail,
        };
        if (e.status !== undefined) attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = e.status;
        this.#emit(PROXY_SPANS.healthCheckFailure.name, attrs, e.detail, e.latencyMs);
      }
    } else if (ev.type === "outlier") {
      this.#outlier(ev.cluster, ev.event);
    }
  }

  #outlier(cluster: string, e: OutlierEvent): void {
    if (e.type === "ejected") {
      const attrs: Attributes = {
        ...endpointAttrs(cluster, e.host),
        [ATTR.ejectReason]: e.reason,
        [ATTR.ejectCount]: e.ejectionCount,
        [ATTR.ejectDurationMs]: Math.max(0, e.ejectUntil - e.at),
      };
      if (e.evidence) attrs[ATTR.ejectEvidence] = JSON.stringify(e.evidence);
      if (e.detail) attrs[ATTR.detail] = e.detail;
      this.#emit(PROXY_SPANS.ejection.name, attrs, `ejected: ${e.reason}`);
    } else if (e.type === "unejected") {
      this.#emit(
        PROXY_SPANS.unejection.name,
        { ...endpointAttrs(cluster, e.host), [ATTR.ejectReason]: e.reason, [ATTR.ejectedForMs]: e.ejectedForMs },
        undefined,
      );
    }
  }

  configApplied(c: ConfigApplication): void {
    const attrs: Attributes = {
      [ATTR.configKind]: c.kind,
      [ATTR.configVersion]: c.version,
      [ATTR.configResult]: c.result,
    };
    if (c.source) attrs[ATTR.configSource] = c.source;
    if (c.reason) attrs[ATTR.detail] = c.reason;
    this.#emit(PROXY_SPANS.configApply.name, attrs, c.result === "NACK" ? (c.reason ?? "rejected") : undefined);
  }
}

function endpointAttrs(cluster: string, host: Host): Attributes {
  const a: Attributes = { [ATTR.cluster]: cluster, [ATTR.endpoint]: host.key };
  if (host.zone) a[ATTR.zone] = host.zone;
  return a;
}
