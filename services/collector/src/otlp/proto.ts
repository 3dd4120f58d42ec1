/**
 * OTLP decoding with the protobufjs static code that @opentelemetry/otlp-transformer@0.216
 * generated from the official opentelemetry-proto definitions (the last release that ships it;
 * later releases encode with a hand-written writer and have no decoders). Why this package:
 * docs/decisions/0006-otlp-decoding.md. The generated module has no useful typings, so the
 * shapes the collector reads are declared below (decoded messages carry more; we ignore it).
 *
 * JSON follows the OTLP/HTTP JSON encoding: lowerCamelCase keys, enums as integers, 64-bit
 * integers as strings or numbers, trace and span ids as hex (protobuf JSON would say base64,
 * so ids are converted before the generated fromObject runs).
 */
import { createRequire } from "node:module";
import protobuf from "protobufjs/minimal.js";

const require = createRequire(import.meta.url);

/** protobufjs returns 64-bit integers as Long objects (the `long` package) or numbers. */
export type Int64 = number | { toNumber(): number } | null | undefined;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64;
  doubleValue?: number | null;
  arrayValue?: { values?: AnyValue[] } | null;
  kvlistValue?: { values?: KeyValue[] } | null;
  bytesValue?: Uint8Array | null;
}
export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}
export interface Resource {
  attributes?: KeyValue[];
}
export interface NumberDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  asDouble?: number | null;
  asInt?: Int64;
}
export interface HistogramDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  count?: Int64;
  sum?: number | null;
  bucketCounts?: Int64[];
  explicitBounds?: number[];
}
export interface Metric {
  name?: string | null;
  gauge?: { dataPoints?: NumberDataPoint[] } | null;
  sum?: { dataPoints?: NumberDataPoint[]; aggregationTemporality?: number | null; isMonotonic?: boolean | null } | null;
  histogram?: { dataPoints?: HistogramDataPoint[]; aggregationTemporality?: number | null } | null;
  exponentialHistogram?: { dataPoints?: unknown[] } | null;
  summary?: { dataPoints?: unknown[] } | null;
}
export interface ExportMetricsRequest {
  resourceMetrics?: { resource?: Resource | null; scopeMetrics?: { metrics?: Metric[] }[] }[];
}
export interface Span {
  name?: string | null;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes?: KeyValue[];
}
export interface ExportTraceRequest {
  resourceSpans?: { resource?: Resource | null; scopeSpans?: { spans?: Span[] }[] }[];
}

interface MessageType<T> {
  decode(reader: Uint8Array): T;
  fromObject(obj: unknown): T;
  encode(msg: unknown): { finish(): Uint8Array };
}
interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        metrics: { v1: Record<"ExportMetricsServiceRequest" | "ExportMetricsServiceResponse", MessageType<unknown>> };
        trace: { v1: Record<"ExportTraceServiceRequest" | "ExportTraceServiceResponse", MessageType<unknown>> };
      };
    };
  };
}
// CommonJS generated module; the path is the package's own build layout (it has no exports map).
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as GeneratedRoot;
const M = root.opentelemetry.proto.collector.metrics.v1;
const T = root.opentelemetry.proto.collector.trace.v1;

export type Signal = "metrics" | "traces";
export type Encoding = "protobuf" | "json";

export function int64(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** Hex ids (OTLP JSON) -> base64 (what protobuf JSON and the generated fromObject expect). */
function hexIdsToBase64(obj: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === "string" && /^[0-9a-fA-F]*$/.test(v) && v.length % 2 === 0)
      obj[k] = Buffer.from(v, "hex").toString("base64");
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function fixTraceJson(body: unknown): void {
  if (!isObj(body) || !Array.isArray(body.resourceSpans)) return;
  for (const rs of body.resourceSpans) {
    if (!isObj(rs) || !Array.isArray(rs.scopeSpans)) continue;
    for (const ss of rs.scopeSpans) {
      if (!isObj(ss) || !Array.isArray(ss.spans)) continue;
      for (const sp of ss.spans) {
        if (!isObj(sp)) continue;
        hexIdsToBase64(sp, ["traceId", "spanId", "parentSpanId"]);
        if (Array.isArray(sp.links)) for (const l of sp.links) if (isObj(l)) hexIdsToBase64(l, ["traceId", "spanId"]);
      }
    }
  }
}

/** Throws on a malformed payload (the caller answers 400 with the message). */
export function decodeMetrics(body: Uint8Array, encoding: Encoding): ExportMetricsRequest {
  if (encoding === "protobuf") return M.ExportMetricsServiceRequest.decode(body) as ExportMetricsRequest;
  const obj: unknown = JSON.parse(Buffer.from(body).toString("utf8"));
  if (!isObj(obj)) throw new TypeError("body must be a JSON object");
  return M.ExportMetricsServiceRequest.fromObject(obj) as ExportMetricsRequest;
}

export function decodeTraces(body: Uint8Array, encoding: Encoding): ExportTraceRequest {
  if (encoding === "protobuf") return T.ExportTraceServiceRequest.decode(body) as ExportTraceRequest;
  const obj: unknown = JSON.parse(Buffer.from(body).toString("utf8"));
  if (!isObj(obj)) throw new TypeError("body must be a JSON object");
  fixTraceJson(obj);
  return T.ExportTraceServiceRequest.fromObject(obj) as ExportTraceRequest;
}

/** ExportMetricsServiceResponse / ExportTraceServiceResponse, with partial success when something was rejected. */
export function encodeResponse(
  signal: Signal,
  encoding: Encoding,
  rejected: number,
  message: string,
): { body: Uint8Array | string; contentType: string } {
  const countKey = signal === "metrics" ? "rejectedDataPoints" : "rejectedSpans";
  const partial = rejected > 0 || message ? { partialSuccess: { [countKey]: rejected, errorMessage: message } } : {};
  if (encoding === "json") return { body: JSON.stringify(partial), contentType: "application/json" };
  const type = signal === "metrics" ? M.ExportMetricsServiceResponse : T.ExportTraceServiceResponse;
  return { body: type.encode(type.fromObject(partial)).finish(), contentType: "application/x-protobuf" };
}

/**
 * google.rpc.Status for an error response (OTLP/HTTP: the body of a 4xx/5xx is a Status).
 * Status is not part of the OTLP definitions, so its two fields are written with protobufjs's
 * Writer: code = 1 (int32), message = 2 (string).
 */
export function encodeStatus(
  encoding: Encoding,
  code: number,
  message: string,
): { body: Uint8Array | string; contentType: string } {
  if (encoding === "json") return { body: JSON.stringify({ code, message }), contentType: "application/json" };
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).int32(code);
  w.uint32((2 << 3) | 2).string(message);
  return { body: w.finish(), contentType: "application/x-protobuf" };
}
