/**
 * The request path: route -> pick -> acquire a pooled connection -> forward -> stream back.
 * Retries idempotent, body-less requests onto another endpoint within a retry budget
 * (Envoy retry_budget: budget_percent of active requests, min_retry_concurrency floor), so
 * retries cannot amplify an overload.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterRuntime } from "../cluster.js";
import type { Host } from "../host.js";
import type { PooledConnection } from "../pool/connection.js";
import type { AcquireResult } from "../pool/pool.js";
import { ERROR_HEADER, PROXY_ERRORS, type ProxyErrorCause } from "./errors.js";
import type { Router } from "./router.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "http2-settings",
  // Node has already answered `100 Continue` to the client; undici refuses to send Expect.
  "expect",
]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

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

type AttemptOutcome =
  | { kind: "done" }
  | { kind: "failed"; cause: ProxyErrorCause; detail: string; retryable: boolean; retryOn: string };

export class Forwarder {
  #router: Router;
  #clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly #hooks: ForwardHooks;
  /** Requests in flight through the listener (drain waits for 0). */
  inFlight = 0;
  #activeRetries = 0;
  #overloaded: () => boolean = () => false;

  constructor(router: Router, clusters: ReadonlyMap<string, ClusterRuntime>, hooks: ForwardHooks = {}) {
    this.#router = router;
    this.#clusters = clusters;
    this.#hooks = hooks;
  }

  /** Admission control's verdict: while the proxy is saturated, no retries (issue #15). */
  setOverloaded(fn: () => boolean): void {
    this.#overloaded = fn;
  }

  setRoutes(router: Router, clusters: ReadonlyMap<string, ClusterRuntime>): void {
    this.#router = router;
    this.#clusters = clusters;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    const started = performance.now();
    const ctx = this.#hooks.onRequestStart?.(req);
    let attempts = 0;
    let clusterName: string | undefined;
    const finish = (status: number, error?: ProxyErrorCause) => {
      this.inFlight--;
      this.#hooks.onRequest?.({
        cluster: clusterName,
        method: req.method ?? "GET",
        status,
        error,
        latencyMs: performance.now() - started,
        attempts,
        ctx,
      });
    };
    const fail = (cause: ProxyErrorCause, detail: string) => {
      if (cause === "client_closed") res.destroy();
      else if (!res.headersSent) {
        const body = `${cause}: ${detail}\n`;
        res.writeHead(PROXY_ERRORS[cause], {
          [ERROR_HEADER]: cause,
          "content-type": "text/plain",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      } else {
        res.destroy();
      }
      finish(PROXY_ERRORS[cause], cause);
    };

    const url = req.url ?? "/";
    if (!url.startsWith("/")) return fail("bad_request", "absolute-form and authority-form targets are not supported");
    clusterName = this.#router.match(req.headers.host, url);
    const cluster = clusterName ? this.#clusters.get(clusterName) : undefined;
    if (!cluster) return fail("no_route", `no route for host '${req.headers.host ?? ""}' path '${url}'`);

    const method = req.method ?? "GET";
    const hasBody =
      req.headers["transfer-encoding"] !== undefined ||
      (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");
    const retryPolicy = cluster.config.retry;
    const canRetry = IDEMPOTENT.has(method) && !hasBody;
    const headers = upstreamHeaders(req, this.#hooks.upstreamHeaders?.(req));
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    const tried = new Set<Host>();

    const run = async (): Promise<void> => {
      let retrying = false;
      let previous: Extract<AttemptOutcome, { kind: "failed" }> | undefined;
      try {
        for (;;) {
          attempts++;
          const out = await this.#attempt(
            cluster,
            req,
            res,
            method,
            url,
            headers,
            hasBody,
            tried,
            attempts,
            ac.signal,
            ctx,
          );
          if (out.kind === "done") return finish(res.statusCode);
          // A retry that finds no other endpoint reports the failure that caused it, not 503.
          if (previous && out.cause === "no_healthy_upstream") return fail(previous.cause, previous.detail);
          previous = out;
          const retryAllowed =
            canRetry &&
            out.retryable &&
            attempts <= retryPolicy.maxRetries &&
            retryPolicy.retryOn.includes(out.retryOn as (typeof retryPolicy.retryOn)[number]) &&
            !res.headersSent &&
            !ac.signal.aborted &&
            !this.#overloaded() &&
            this.#retryBudgetAllows(retryPolicy.budgetPercent, retryPolicy.minRetryConcurrency);
          if (!retryAllowed) return fail(out.cause, out.detail);
          if (!retrying) {
            retrying = true;
            this.#activeRetries++;
          }
        }
      } finally {
        if (retrying) this.#activeRetries--;
      }
    };
    run().catch((err: Error) => fail("upstream_protocol_error", err.message));
  };

  #retryBudgetAllows(budgetPercent: number, minConcurrency: number): boolean {
    const budget = Math.max(minConcurrency, (budgetPercent / 100) * this.inFlight);
    return this.#activeRetries < budget;
  }

  async #attempt(
    cluster: ClusterRuntime,
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    hasBody: boolean,
    tried: Set<Host>,
    attempt: number,
    signal: AbortSignal,
    ctx: unknown,
  ): Promise<AttemptOutcome> {
    const picked = cluster.lb.pick({ headers: req.headers, exclude: tried });
    if (!picked) {
      return {
        kind: "failed",
        cause: "no_healthy_upstream",
        detail: "no endpoint available",
        retryable: false,
        retryOn: "",
      };
    }
    const host = picked.host;
    tried.add(host);
    host.requestsTotal++;
    const pool = cluster.pool(host);
    if (!pool)
      return {
        kind: "failed",
        cause: "no_healthy_upstream",
        detail: "endpoint removed",
        retryable: true,
        retryOn: "connect-failure",
      };
    const attemptHeaders = this.#hooks.onAttemptStart?.(ctx, cluster.name, host, attempt, picked.score);
    if (attemptHeaders) Object.assign(headers, attemptHeaders);
    const attemptStart = performance.now();
    host.inFlight++;
    const report = (a: Omit<AttemptInfo, "cluster" | "host" | "attempt" | "latencyMs" | "score" | "ctx">) =>
      this.#hooks.onAttempt?.({
        cluster: cluster.name,
        host,
        attempt,
        latencyMs: performance.now() - attemptStart,
        score: picked.score,
        ctx,
        ...a,
      });
    let conn: PooledConnection | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const acquired: AcquireResult = await pool.acquire(signal);
      if (!acquired.ok) {
        if (acquired.reason === "aborted") {
          // The client went away while queued: nothing to blame on the endpoint.
          return { kind: "failed", cause: "client_closed", detail: acquired.detail, retryable: false, retryOn: "" };
        }
        const cause: ProxyErrorCause =
          acquired.reason === "overflow"
            ? "pool_overflow"
            : acquired.reason === "pending_timeout"
              ? "pending_timeout"
              : acquired.reason === "draining"
                ? "draining"
                : "connect_failed";
        // Connect failures reach the outlier detector from the pool's own events (cluster.ts),
        // once per failed connect, not once per waiting request.
        report({ error: cause, errorDetail: acquired.detail, poolWaitMs: 0, reused: false });
        return {
          kind: "failed",
          cause,
          detail: acquired.detail,
          // A pending timeout or an overflow means the pool is saturated: retrying elsewhere
          // would pile more work onto a proxy that is already behind (issue #15).
          retryable: cause === "connect_failed" || cause === "draining",
          retryOn: "connect-failure",
        };
      }
      conn = acquired.conn;
      const timeoutMs = cluster.config.requestTimeoutMs;
      // A timer we cancel when the attempt ends: AbortSignal.timeout() cannot be cancelled and
      // fired (building a DOMException) for every finished request (bench profile, issue #5).
      const timeout = new AbortController();
      timer = setTimeout(() => timeout.abort(), timeoutMs);
      const upstreamSignal = AbortSignal.any([signal, timeout.signal]);
      // The latency the score and outlier detection see is the upstream's own: dispatch to
      // response headers, without pool wait (scored separately) or time spent streaming to a
      // slow client (bench finding: it inflated the estimate and the predictive scaler).
      const dispatchedAt = performance.now();
      let upstream: Awaited<ReturnType<PooledConnection["request"]>>;
      try {
        upstream = await conn.request({
          method: method as "GET",
          path,
          headers,
          body: hasBody ? req : undefined,
          signal: upstreamSignal,
        });
      } catch (err) {
        const timedOut = timeout.signal.aborted;
        const cause: ProxyErrorCause = timedOut ? "upstream_timeout" : classifyUpstreamError(err);
        const detail = timedOut ? `no response within ${timeoutMs} ms` : (err as Error).message;
        if (!signal.aborted) {
          cluster.outlier.reportResult(host, { kind: "local_origin_failure", cause });
          // A timeout is a latency observation too: it makes the endpoint score worse at once.
          if (timedOut) cluster.observeLatency(host, timeoutMs);
        }
        report({
          error: cause,
          errorDetail: detail,
          poolWaitMs: acquired.waitedMs,
          reused: acquired.reused,
          connectMs: acquired.reused ? undefined : conn.connectMs,
        });
        // A connection whose request failed mid-way is not reused.
        conn.retire();
        return {
          kind: "failed",
          cause,
          detail,
          retryable: true,
          retryOn: timedOut ? "timeout" : cause === "upstream_reset" ? "reset" : "gateway-error",
        };
      }
      const upstreamMs = performance.now() - dispatchedAt;
      const status = upstream.statusCode;
      const outHeaders = downstreamHeaders(upstream.headers);
      res.writeHead(status, outHeaders);
      try {
        for await (const chunk of upstream.body) {
          if (!res.write(chunk)) await waitDrain(res, upstreamSignal);
        }
        res.end();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((status === 204 || status === 304) && code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
          // RFC 9110 lets a 304 carry the Content-Length of the full representation; undici
          // rejects it. There is no body to relay: end cleanly and retire the connection.
          res.end();
          conn.retire();
          report({ status, poolWaitMs: acquired.waitedMs, reused: acquired.reused });
          return { kind: "done" };
        }
        if (signal.aborted) {
          // The client went away mid-body (or stopped reading): not the endpoint's fault.
          conn.retire();
          res.destroy();
          return { kind: "done" };
        }
        if (timeout.signal.aborted) cluster.observeLatency(host, timeoutMs);
        // Headers already sent: the only honest signal left is to reset the client stream.
        cluster.outlier.reportResult(host, { kind: "local_origin_failure", cause: "reset" });
        report({
          status,
          error: "upstream_reset",
          errorDetail: (err as Error).message,
          poolWaitMs: acquired.waitedMs,
          reused: acquired.reused,
          connectMs: acquired.reused ? undefined : conn.connectMs,
        });
        conn.retire();
        res.destroy();
        return { kind: "done" };
      }
      cluster.observeLatency(host, upstreamMs);
      cluster.outlier.reportResult(host, {
        kind: status >= 502 && status <= 504 ? "gateway_error" : status >= 500 ? "http_5xx" : "success",
        status,
        latencyMs: upstreamMs,
      });
      report({
        status,
        poolWaitMs: acquired.waitedMs,
        reused: acquired.reused,
        connectMs: acquired.reused ? undefined : conn.connectMs,
      });
      return { kind: "done" };
    } finally {
      clearTimeout(timer);
      host.inFlight--;
      if (conn) pool.release(conn);
    }
  }
}

function waitDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("aborted while the client was not reading"));
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      signal.removeEventListener("abort", abort);
      resolve();
    };
    // The request timeout also bounds a client that stops reading (review finding #10).
    const abort = () => {
      res.off("drain", done);
      res.off("close", done);
      reject(new Error("request timeout while the client was not reading"));
    };
    res.on("drain", done);
    res.on("close", done);
    signal.addEventListener("abort", abort, { once: true });
  });
}

export function classifyUpstreamError(err: unknown): ProxyErrorCause {
  const code = (err as { code?: string }).code ?? "";
  if (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_CLOSED")
    return "upstream_reset";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return "upstream_timeout";
  return "upstream_protocol_error";
}

function upstreamHeaders(
  req: IncomingMessage,
  extra: Record<string, string> | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = tokens(req.headers.connection);
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.has(k)) continue;
    out[k] = v;
  }
  if (extra) Object.assign(out, extra);
  return out;
}

function downstreamHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = tokens(h.connection);
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function tokens(v: string | string[] | undefined): Set<string> {
  if (!v) return new Set();
  const s = Array.isArray(v) ? v.join(",") : v;
  return new Set(
    s
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
