/**
 * What the request path reports, and the hooks telemetry plugs in (services/proxy/src/telemetry):
 * one AttemptInfo per upstream attempt, one RequestInfo per downstream request.
 */
import type { IncomingMessage } from "node:http";
import type { Host } from "../host.js";
import type { ProxyErrorCause } from "./errors.js";

/** One upstream attempt, reported for outlier detection and telemetry. */
export interface AttemptInfo {
  cluster: string;
  host: Host;
  attempt: number;
  status?: number;
  error?: ProxyErrorCause;
  errorDetail?: string;
  latencyMs: number;
  poolWaitMs: number;
  reused: boolean;
  /** Connect time (ms) of the connection when this attempt was its first request (reused: false). */
  connectMs?: number;
  score?: number;
  /** What onRequestStart returned for this request. */
  ctx?: unknown;
}

export interface RequestInfo {
  cluster?: string;
  method: string;
  status: number;
  error?: ProxyErrorCause;
  latencyMs: number;
  attempts: number;
  /** What onRequestStart returned for this request. */
  ctx?: unknown;
}

export interface ForwardHooks {
  onAttempt?(a: AttemptInfo): void;
  onRequest?(r: RequestInfo): void;
  /** Extra headers for the upstream request (trace context; issue #6). */
  upstreamHeaders?(req: IncomingMessage): Record<string, string> | undefined;
  /**
   * A downstream request arrived (before routing). The value returned is handed back as `ctx`
   * to onAttemptStart, onAttempt and onRequest, so telemetry can open a span with its true
   * start time instead of back-dating it at the end (issue #6).
   */
  onRequestStart?(req: IncomingMessage): unknown;
  /**
   * An upstream attempt starts: the endpoint is picked, the pool not yet asked. Headers returned
   * are set on this attempt's upstream request only (a retry gets its own), e.g. a W3C
   * traceparent carrying the attempt's client span id. Positional arguments: no allocation
   * per attempt when telemetry is off.
   */
  onAttemptStart?(
    ctx: unknown,
    cluster: string,
    host: Host,
    attempt: number,
    score: number | undefined,
  ): Record<string, string> | undefined;
}
