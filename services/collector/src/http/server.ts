/**
 * The OTLP/HTTP receiver (OTLP specification, "OTLP/HTTP"): POST /v1/metrics and /v1/traces in
 * protobuf or JSON, optionally gzip; 200 with partial success, 400 with a Status for a
 * malformed payload, 413 above the body limits, 415 for an unknown content type or encoding,
 * 429 with Retry-After above the concurrency limit, 503 with Retry-After while Redis fails.
 * Plus /live, /ready (Redis answers) and /metrics (prom-client).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { inSpan, type Logger, SpanKind } from "@meshtune/adapters";
import { context, propagation } from "@opentelemetry/api";
import type { IngestResult } from "../ingest.js";
import type { CollectorMetrics } from "../metrics.js";
import { type Encoding, encodeResponse, encodeStatus, type Signal } from "../otlp/proto.js";
import { type BodyLimits, readBody } from "./body.js";

export interface HandlerDeps {
  limits: BodyLimits;
  maxConcurrent: number;
  /** Decompressed body bytes being handled at once; above it a request gets 429 (bounded memory). */
  maxInFlightBytes: number;
  metrics: CollectorMetrics;
  logger: Logger;
  ingest: (signal: Signal, body: Uint8Array, encoding: Encoding) => Promise<IngestResult>;
  ready: () => Promise<boolean>;
  /** Seconds in Retry-After of 429 and 503. */
  retryAfterSec: number;
}

/** google.rpc.Code values used in Status bodies. */
const RPC = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 } as const;

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const t = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (t === "application/x-protobuf") return "protobuf";
  if (t === "application/json") return "json";
  return undefined;
}

function send(res: ServerResponse, status: number, body: Uint8Array | string, contentType: string, extra = {}) {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), ...extra });
  res.end(body);
}

export function createHandler(d: HandlerDeps) {
  let inFlight = 0;
  let inFlightBytes = 0;
  const done = (signal: Signal, status: number) => d.metrics.requests.inc({ signal, code: String(status) });

  async function exportRequest(req: IncomingMessage, res: ServerResponse, signal: Signal): Promise<void> {
    const encoding = encodingOf(req.headers["content-type"]);
    const fail = (
      status: number,
      reason: string,
      message: string,
      code: number,
      enc: Encoding = "json",
      extra = {},
    ) => {
      d.metrics.rejected.inc({ what: "requests", reason });
      const s = encodeStatus(enc, code, message);
      // The rest of an unread body is not worth reading: close the connection after the answer.
      if (!req.complete) res.setHeader("connection", "close");
      send(res, status, s.body, s.contentType, extra);
      done(signal, status);
    };
    if (!encoding)
      return fail(
        415,
        "unsupported_media_type",
        `unsupported Content-Type '${req.headers["content-type"] ?? ""}'`,
        RPC.INVALID_ARGUMENT,
      );
    if (inFlight >= d.maxConcurrent) {
      return fail(429, "overloaded", "too many concurrent export requests", RPC.RESOURCE_EXHAUSTED, encoding, {
        "retry-after": String(d.retryAfterSec),
      });
    }
    inFlight++;
    d.metrics.inFlight.set(inFlight);
    try {
      const body = await readBody(req, d.limits);
      if (!body.ok) {
        if (body.reason === "bad_gzip") d.metrics.decodeErrors.inc({ encoding: "gzip" });
        return fail(body.status, body.reason, body.message, RPC.INVALID_ARGUMENT, encoding);
      }
      const size = body.body.length;
      if (inFlightBytes + size > d.maxInFlightBytes && inFlightBytes > 0) {
        return fail(429, "overloaded", "too many bytes in flight", RPC.RESOURCE_EXHAUSTED, encoding, {
          "retry-after": String(d.retryAfterSec),
        });
      }
      inFlightBytes += size;
      let r: IngestResult;
      try {
        r = await d.ingest(signal, body.body, encoding);
      } finally {
        inFlightBytes -= size;
      }
      if (r.status !== 200) {
        const extra = r.status === 503 ? { "retry-after": String(d.retryAfterSec) } : {};
        const code = r.status === 503 ? RPC.UNAVAILABLE : RPC.INVALID_ARGUMENT;
        return fail(r.status, r.reason, r.message, code, encoding, extra);
      }
      const out = encodeResponse(signal, encoding, r.rejected, r.message);
      send(res, 200, out.body, out.contentType);
      done(signal, 200);
    } finally {
      inFlight--;
      d.metrics.inFlight.set(inFlight);
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path === "/v1/metrics" || path === "/v1/traces") {
        if (req.method !== "POST") return send(res, 405, "POST only\n", "text/plain", { allow: "POST" });
        if (path === "/v1/metrics") return await exportRequest(req, res, "metrics");
        const signal = "traces";
        // Fast signals come only as spans, so only /v1/traces requests get a server span (a
        // span per metrics export would be a trace per proxy per export interval); a fast
        // signal's evaluation job continues its trace (docs/decisions/0018-tuner-tracing.md).
        // A proxy's own traceparent header is honoured.
        return await inSpan(
          "meshtune.collector.export",
          {
            kind: SpanKind.SERVER,
            parent: propagation.extract(context.active(), req.headers),
            attributes: { "http.request.method": "POST", "url.path": path, "meshtune.signal": signal },
          },
          async (span) => {
            await exportRequest(req, res, signal);
            span.setAttribute("http.response.status_code", res.statusCode);
          },
        );
      }
      if (req.method !== "GET" && req.method !== "HEAD")
        return send(res, 405, "GET only\n", "text/plain", { allow: "GET" });
      if (path === "/live") return send(res, 200, "ok\n", "text/plain");
      if (path === "/ready") {
        const ok = await d.ready();
        return send(res, ok ? 200 : 503, ok ? "ready\n" : "redis unavailable\n", "text/plain");
      }
      if (path === "/metrics") {
        const text = await d.metrics.registry.metrics();
        return send(res, 200, text, d.metrics.registry.contentType);
      }
      send(res, 404, "not found\n", "text/plain");
    } catch (err) {
      // Nothing a client sends may crash the process: log, answer 500, keep serving.
      d.logger.error({ err, path }, "request handler failed");
      if (!res.headersSent) send(res, 500, "internal error\n", "text/plain");
      else res.destroy();
    }
  };
}
