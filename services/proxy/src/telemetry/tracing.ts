/**
 * Request spans: a SERVER span per downstream request and a CLIENT span per upstream attempt,
 * with the stable HTTP semantic conventions plus meshtune's attributes (contracts ATTR). The
 * attempt's span context goes upstream as W3C `traceparent` (and `tracestate`), so the
 * external service's trace continues under the attempt that reached it.
 *
 * Spans are opened by the forwarder's start hooks (true start times, and the traceparent
 * carries the id of the span that is really the parent) and closed by its end hooks.
 *
 * Head sampling is decided once per request, before any span exists, by the provider's own
 * ParentBased(TraceIdRatio) sampler on the trace id the request will have. An unsampled request
 * creates no span at all: it only sends `traceparent` upstream with the sampled flag off (the
 * caller's trace id, or a fresh one), so services behind the proxy make the same decision.
 * Measured: the SDK's non-recording spans (two per request, with contexts, id generation and
 * its own span metrics) were most of what telemetry cost an unsampled request.
 */

import { randomFillSync } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ATTR } from "@meshtune/contracts";
import type { AttemptInfo, Host, RequestInfo } from "@meshtune/dataplane";
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TraceState,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { type IdGenerator, type Sampler, SamplingDecision } from "@opentelemetry/sdk-trace";
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from "@opentelemetry/semantic-conventions";
import type { ProxyView } from "./metrics.js";

/**
 * Per-request state handed back by the forwarder's hooks. An unsampled request without a
 * caller's tracestate is just its trace id (a string): no object per request on that path.
 */
export type TraceCtx = RequestCtx | string;

export interface RequestCtx {
  /** The server span; undefined when the request is not sampled. */
  span: Span | undefined;
  /** Context with the server span: parent of every attempt (sampled requests). */
  ctx: Context | undefined;
  /** Trace id and trace state to propagate for an unsampled request. */
  traceId: string;
  traceState: TraceState | undefined;
  method: string;
  /** The attempt in progress (attempts of one request are sequential). */
  attempt: Span | undefined;
}

/**
 * Random ids as the SDK makes them (Math.random, hex), with a trace id that can be staged: a
 * sampled root span gets the trace id its sampling decision was made on.
 */
export class StagedIdGenerator implements IdGenerator {
  #staged: string | undefined;
  stage(traceId: string): void {
    this.#staged = traceId;
  }
  generateTraceId(): string {
    const staged = this.#staged;
    if (staged) {
      this.#staged = undefined;
      return staged;
    }
    return randomHex(16);
  }
  generateSpanId(): string {
    return randomHex(8);
  }
}

/**
 * Random bytes as lowercase hex, cut from a pool refilled 4 KiB at a time (one
 * crypto.randomFillSync per 256 trace ids; Math.random + toString(16) per word profiled at ~1%
 * of the proxy's CPU). Never all zero: an all-zero id is invalid.
 */
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;
function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += bytes;
  for (let i = start; i < poolOffset; i++) if (POOL[i] !== 0) return POOL.toString("hex", start, poolOffset);
  POOL[poolOffset - 1] = 1;
  return POOL.toString("hex", start, poolOffset);
}

/** HTTP semconv: known methods keep their name; anything else is `_OTHER` (span name `HTTP`). */
const KNOWN_METHODS = new Set([
  "CONNECT",
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
  "QUERY",
]);

const propagator = new W3CTraceContextPropagator();
const NO_ATTRS = Object.freeze({});
const NO_LINKS: [] = [];
const UNSAMPLED: Record<string, string> = { traceparent: "" };

export class RequestTracing {
  readonly #tracer: Tracer;
  readonly #view: () => ProxyView | undefined;
  readonly #sampler: Sampler;
  readonly #ids: StagedIdGenerator;

  /** `sampler` and `ids` must be the ones the tracer's provider was built with. */
  constructor(tracer: Tracer, view: () => ProxyView | undefined, sampler: Sampler, ids: StagedIdGenerator) {
    this.#tracer = tracer;
    this.#view = view;
    this.#sampler = sampler;
    this.#ids = ids;
  }

  start(req: IncomingMessage): TraceCtx {
    const raw = req.method ?? "GET";
    const method = KNOWN_METHODS.has(raw) ? raw : "_OTHER";
    // Continue the caller's trace when it sent one (ParentBased honours its sampled flag).
    const parent = req.headers.traceparent
      ? propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter)
      : ROOT_CONTEXT;
    const parentSc = trace.getSpanContext(parent);
    const remote = parentSc !== undefined && trace.isSpanContextValid(parentSc);
    const traceId = remote ? parentSc.traceId : this.#ids.generateTraceId();
    const decision = this.#sampler.shouldSample(parent, traceId, raw, SpanKind.SERVER, NO_ATTRS, NO_LINKS).decision;
    if (decision === SamplingDecision.NOT_RECORD) {
      const traceState = parentSc?.traceState;
      if (!traceState) return traceId;
      return { span: undefined, ctx: undefined, traceId, traceState, method, attempt: undefined };
    }
    if (!remote) this.#ids.stage(traceId);
    const span = this.#tracer.startSpan(method === "_OTHER" ? "HTTP" : method, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const host = req.headers.host;
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, method);
      if (method === "_OTHER") span.setAttribute(ATTR_HTTP_REQUEST_METHOD_ORIGINAL, raw);
      span.setAttribute(ATTR_URL_PATH, q < 0 ? url : url.slice(0, q));
      span.setAttribute(ATTR_URL_SCHEME, "http");
      if (host) span.setAttribute(ATTR_SERVER_ADDRESS, stripPort(host));
      if (req.socket.remoteAddress) span.setAttribute(ATTR_CLIENT_ADDRESS, req.socket.remoteAddress);
      span.setAttribute(ATTR_NETWORK_PROTOCOL_VERSION, req.httpVersion);
    }
    return {
      span,
      ctx: trace.setSpan(parent, span),
      traceId,
      traceState: undefined,
      method,
      attempt: undefined,
    };
  }

  attemptStart(rc: TraceCtx, cluster: string, host: Host, attempt: number, score: number | undefined) {
    // Not sampled: no span, but the decision travels on (sampled flag off). The forwarder copies
    // the returned headers into its own object at once, so one shared object serves every call.
    if (typeof rc === "string") {
      UNSAMPLED.traceparent = `00-${rc}-${randomHex(8)}-00`;
      return UNSAMPLED;
    }
    if (!rc.ctx) {
      const headers: Record<string, string> = { traceparent: `00-${rc.traceId}-${randomHex(8)}-00` };
      if (rc.traceState) headers.tracestate = rc.traceState.serialize();
      return headers;
    }
    const span = this.#tracer.startSpan(rc.method === "_OTHER" ? "HTTP" : rc.method, { kind: SpanKind.CLIENT }, rc.ctx);
    rc.attempt = span;
    if (span.isRecording()) {
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, rc.method);
      span.setAttribute(ATTR_SERVER_ADDRESS, host.sni ?? host.address);
      span.setAttribute(ATTR_SERVER_PORT, host.port);
      span.setAttribute(ATTR_NETWORK_PEER_ADDRESS, host.address);
      span.setAttribute(ATTR_NETWORK_PEER_PORT, host.port);
      if (attempt > 1) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, attempt - 1);
      span.setAttribute(ATTR.cluster, cluster);
      span.setAttribute(ATTR.endpoint, host.key);
      if (host.zone) span.setAttribute(ATTR.zone, host.zone);
      const policy = this.#view()?.clusters.get(cluster)?.lb.policy;
      if (policy) span.setAttribute(ATTR.lbPolicy, policy);
      if (score !== undefined && Number.isFinite(score)) span.setAttribute(ATTR.lbScore, score);
      span.setAttribute(ATTR.retryCount, attempt - 1);
    }
    const headers: Record<string, string> = {};
    propagator.inject(trace.setSpan(rc.ctx, span), headers, defaultTextMapSetter);
    return headers;
  }

  attemptEnd(rc: TraceCtx, a: AttemptInfo): void {
    if (typeof rc === "string") return;
    const span = rc.attempt;
    if (!span) return;
    rc.attempt = undefined;
    if (span.isRecording()) {
      if (a.status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, a.status);
      span.setAttribute(ATTR.poolWaitMs, a.poolWaitMs);
      span.setAttribute(ATTR.connectionReused, a.reused);
      if (a.connectMs !== undefined) span.setAttribute(ATTR.connectMs, a.connectMs);
      const errorType = a.error ?? (a.status !== undefined && a.status >= 400 ? String(a.status) : undefined);
      if (errorType) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        if (a.error) span.setAttribute(ATTR.errorCause, a.error);
        if (a.errorDetail) span.setAttribute(ATTR.detail, a.errorDetail);
        span.setStatus({ code: SpanStatusCode.ERROR, message: a.errorDetail ?? errorType });
      }
    }
    span.end();
  }

  end(rc: TraceCtx, r: RequestInfo): void {
    if (typeof rc === "string") return;
    // An attempt the forwarder never reported (it threw) must not leak an open span.
    if (rc.attempt) {
      rc.attempt.setStatus({ code: SpanStatusCode.ERROR, message: r.error ?? "attempt aborted" });
      rc.attempt.end();
      rc.attempt = undefined;
    }
    const span = rc.span;
    if (!span) return;
    if (span.isRecording()) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, r.status);
      if (r.cluster) span.setAttribute(ATTR.cluster, r.cluster);
      span.setAttribute(ATTR.retryCount, Math.max(0, r.attempts - 1));
      // HTTP semconv: for a server span only 5xx (or no response) is an error.
      const errorType = r.error ?? (r.status >= 500 ? String(r.status) : undefined);
      if (errorType) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        if (r.error) span.setAttribute(ATTR.errorCause, r.error);
        if (r.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
      }
    }
    span.end();
  }
}

function stripPort(hostHeader: string): string {
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]");
    return end > 0 ? hostHeader.slice(1, end) : hostHeader;
  }
  const colon = hostHeader.lastIndexOf(":");
  return colon > 0 ? hostHeader.slice(0, colon) : hostHeader;
}
