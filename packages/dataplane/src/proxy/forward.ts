/**
 * The request path, in four steps around one attempt object (attempt.ts):
 *   pick    — route, then the balancer picks an endpoint not yet tried by this request;
 *   acquire — the endpoint's pool hands over a connection now or queues the attempt;
 *   dispatch— the connection's dispatch() (our h1 codec, undici for h2) with the attempt as handler;
 *   relay   — raw response headers to writeHead, body chunks with back-pressure, then end.
 * A failed attempt is retried onto another endpoint when the request is idempotent and
 * body-less, the retry budget allows it (Envoy retry_budget: budget_percent of active
 * requests, min_retry_concurrency floor) and the proxy is not overloaded (admission.ts), so
 * retries cannot amplify an overload (issue #15: a saturated fleet collapsed under retries).
 * All time comes from the injected Clock.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { ClusterRuntime } from "../cluster.js";
import type { AcquireResult } from "../pool/pool.js";
import { Attempt, type AttemptOutcome, type AttemptSink, DONE, type RequestContext, RequestPick } from "./attempt.js";
import { classifyUpstreamError, isBodyTimeout, PROXY_ERRORS, type ProxyErrorCause, writeError } from "./errors.js";
import { scanRequestFields, withFields } from "./headers.js";
import type { AttemptInfo, ForwardHooks } from "./hooks.js";
import type { Router } from "./router.js";
import { parseTarget } from "./target.js";
import { WARM_HEADER } from "./warm-path.js";

export { classifyUpstreamError, writeError } from "./errors.js";
export type { AttemptInfo, ForwardHooks, RequestInfo } from "./hooks.js";

const NO_HOOKS: ForwardHooks = {};
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

type Failed = Extract<AttemptOutcome, { kind: "failed" }>;
const failed = (cause: ProxyErrorCause, detail: string, retryable: boolean, retryOn: string): Failed => ({
  kind: "failed",
  cause,
  detail,
  retryable,
  retryOn,
});

/** Per-request state the forwarder keeps beside the shared RequestContext fields. */
interface Req extends RequestContext {
  /** A warm-up request of the proxy's own (warm-path.ts): no telemetry hooks. */
  silent: boolean;
  previous: Failed | undefined;
  readonly pick: RequestPick;
  onClose: () => void;
}

export class Forwarder implements AttemptSink {
  #router: Router;
  #clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly #hooks: ForwardHooks;
  readonly #clock: Clock;
  #inFlight = 0;
  #handled = 0;
  #activeRetries = 0;
  #overloaded: () => boolean = () => false;
  /** While the request path is warmed before /ready: the token its requests carry. */
  #warmToken: string | undefined;

  constructor(
    router: Router,
    clusters: ReadonlyMap<string, ClusterRuntime>,
    hooks: ForwardHooks = {},
    clock: Clock = systemClock,
  ) {
    this.#router = router;
    this.#clusters = clusters;
    this.#hooks = hooks;
    this.#clock = clock;
  }

  /** Requests in flight through the listener (drain waits for 0). */
  get inFlight(): number {
    return this.#inFlight;
  }
  /** Requests handled since start (the request path writes it; admin and workers read it). */
  get handled(): number {
    return this.#handled;
  }

  /** Admission control's verdict: while the proxy is saturated, no retries (issue #15). */
  setOverloaded(fn: () => boolean): void {
    this.#overloaded = fn;
  }

  /** Requests carrying this token in x-meshtune-warmup skip telemetry hooks (undefined: none). */
  setWarmToken(token: string | undefined): void {
    this.#warmToken = token;
  }

  setRoutes(router: Router, clusters: ReadonlyMap<string, ClusterRuntime>): void {
    this.#router = router;
    this.#clusters = clusters;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#inFlight++;
    const startedAt = this.#clock.now();
    const fields = scanRequestFields(req.rawHeaders, this.#warmToken === undefined ? undefined : WARM_HEADER);
    const silent = this.#warmToken !== undefined && fields.warm === this.#warmToken;
    const hooks = silent ? NO_HOOKS : this.#hooks;
    if (!silent) this.#handled++;
    const ctx = hooks.onRequestStart?.(req);
    const method = req.method ?? "GET";
    const target = parseTarget(req.url ?? "/");
    if (!target.ok) return this.#reject(req, res, startedAt, ctx, undefined, "bad_request", target.detail);
    // (A rejected warm-up request reports to the hooks: it would be a routing bug worth seeing.)
    const host = target.authority ?? fields.host;
    const clusterName = this.#router.match(host, target.path);
    const cluster = clusterName ? this.#clusters.get(clusterName) : undefined;
    if (!cluster)
      return this.#reject(
        req,
        res,
        startedAt,
        ctx,
        clusterName,
        "no_route",
        `no route for host '${host ?? ""}' path '${target.path}'`,
      );
    const extra = hooks.upstreamHeaders?.(req);
    const rc: Req = {
      req,
      res,
      cluster,
      clock: this.#clock,
      method,
      path: target.path,
      headers: extra === undefined ? fields.list : withFields(fields.list, extra),
      hasBody: fields.hasBody,
      startedAt,
      ctx,
      attempts: 0,
      tried: undefined,
      current: undefined,
      clientClosed: false,
      retrying: false,
      silent,
      previous: undefined,
      pick: new RequestPick(req),
      onClose: () => {
        if (res.writableFinished) return;
        rc.clientClosed = true;
        rc.current?.cancel();
      },
    };
    // `on`, not `once` (no wrapper per request): #finish removes it.
    res.on("close", rc.onClose);
    this.#next(rc);
  };

  /** A request refused before routing (admission control): the error, and onRequest like any other. */
  refuse(req: IncomingMessage, res: ServerResponse, cause: ProxyErrorCause, detail: string): void {
    this.#inFlight++;
    this.#handled++;
    this.#reject(req, res, this.#clock.now(), undefined, undefined, cause, detail);
  }

  // ---- pick ----
  #next(rc: Req): void {
    rc.attempts++;
    const cluster = rc.cluster;
    rc.pick.exclude = rc.tried;
    const picked = cluster.lb.pick(rc.pick);
    if (!picked) return this.#afterFailure(rc, failed("no_healthy_upstream", "no endpoint available", false, ""));
    const host = picked.host;
    // Warm-up requests are not picks of user traffic (lb metrics, the predictive scaler's rate).
    if (!rc.silent) host.requestsTotal++;
    const pool = cluster.pool(host);
    if (!pool) {
      rc.tried = rc.tried ?? new Set();
      rc.tried.add(host);
      return this.#afterFailure(rc, failed("no_healthy_upstream", "endpoint removed", true, "connect-failure"));
    }
    const extra = rc.silent
      ? undefined
      : this.#hooks.onAttemptStart?.(rc.ctx, cluster.name, host, rc.attempts, picked.score);
    if (extra) rc.headers = withFields(rc.headers, extra);
    host.inFlight++;
    const a = new Attempt(rc, host, pool, rc.attempts, picked.score, this);
    rc.current = a;
    // ---- acquire ----
    const now = pool.acquireFor(a);
    if (now) this.acquired(a, now);
  }

  acquired(a: Attempt, r: AcquireResult): void {
    const rc = a.rc as Req;
    if (!r.ok) {
      if (r.reason === "aborted") return a.end(failed("client_closed", r.detail, false, ""));
      const cause: ProxyErrorCause =
        r.reason === "overflow"
          ? "pool_overflow"
          : r.reason === "pending_timeout"
            ? "pending_timeout"
            : r.reason === "draining"
              ? "draining"
              : "connect_failed";
      // Connect failures reach the outlier detector from the pool's own events (cluster.ts),
      // once per failed connect, not once per waiting request.
      this.#report(a, { error: cause, errorDetail: r.detail, poolWaitMs: 0, reused: false });
      // A pending timeout or an overflow means the pool is saturated: retrying elsewhere
      // would pile more work onto a proxy that is already behind (issue #15).
      return a.end(failed(cause, r.detail, cause === "connect_failed" || cause === "draining", "connect-failure"));
    }
    a.conn = r.conn;
    a.waitedMs = r.waitedMs;
    a.reused = r.reused;
    // The client left while this attempt waited: the connection goes back to the pool unused.
    if (rc.clientClosed) return a.end(failed("client_closed", "client went away", false, ""));
    // ---- dispatch ----
    const timeoutMs = rc.cluster.config.requestTimeoutMs;
    a.dispatchedAt = this.#clock.now();
    r.conn.dispatch(
      {
        method: rc.method,
        path: rc.path,
        headers: rc.headers,
        body: rc.hasBody ? rc.req : null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      a,
    );
  }

  // ---- relay finished ----
  completed(a: Attempt): void {
    const cluster = a.rc.cluster;
    const status = a.status;
    cluster.observeLatency(a.host, a.upstreamMs);
    cluster.outlier.reportResult(a.host, {
      kind: status >= 502 && status <= 504 ? "gateway_error" : status >= 500 ? "http_5xx" : "success",
      status,
      latencyMs: a.upstreamMs,
    });
    this.#report(a, { status, poolWaitMs: a.waitedMs, reused: a.reused, connectMs: this.#connectMs(a) });
    a.end(DONE);
  }

  errored(a: Attempt, err: Error): void {
    const rc = a.rc as Req;
    const cluster = rc.cluster;
    const host = a.host;
    const code = (err as { code?: string }).code;
    a.conn?.retire();
    if (a.headersSent) {
      const status = a.status;
      if ((status === 204 || status === 304) && code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
        // RFC 9110 lets a 304 carry the Content-Length of the full representation; undici (h2)
        // rejects it. There is no body to relay: end cleanly (the connection is retired).
        rc.res.end();
        this.#report(a, { status, poolWaitMs: a.waitedMs, reused: a.reused });
        return a.end(DONE);
      }
      if (!rc.clientClosed) {
        // Headers already sent: the only honest signal left is to reset the client stream.
        if (isBodyTimeout(code)) cluster.observeLatency(host, cluster.config.requestTimeoutMs);
        cluster.outlier.reportResult(host, { kind: "local_origin_failure", cause: "reset" });
        this.#report(a, {
          status,
          error: "upstream_reset",
          errorDetail: err.message,
          poolWaitMs: a.waitedMs,
          reused: a.reused,
          connectMs: this.#connectMs(a),
        });
      }
      rc.res.destroy();
      return a.end(DONE);
    }
    if (rc.clientClosed) return a.end(failed("client_closed", "client went away", false, ""));
    const cause = classifyUpstreamError(err);
    const timedOut = cause === "upstream_timeout";
    const timeoutMs = cluster.config.requestTimeoutMs;
    const detail = timedOut ? `no response within ${timeoutMs} ms` : err.message;
    cluster.outlier.reportResult(host, { kind: "local_origin_failure", cause });
    // A timeout is a latency observation too: it makes the endpoint score worse at once.
    if (timedOut) cluster.observeLatency(host, timeoutMs);
    this.#report(a, {
      error: cause,
      errorDetail: detail,
      poolWaitMs: a.waitedMs,
      reused: a.reused,
      connectMs: this.#connectMs(a),
    });
    a.end(failed(cause, detail, true, timedOut ? "timeout" : cause === "upstream_reset" ? "reset" : "gateway-error"));
  }

  attemptDone(a: Attempt, out: AttemptOutcome): void {
    const rc = a.rc as Req;
    if (rc.current === a) rc.current = undefined;
    if (out.kind === "done") return this.#finish(rc, rc.res.statusCode);
    rc.tried = rc.tried ?? new Set();
    rc.tried.add(a.host);
    this.#afterFailure(rc, out);
  }

  // ---- retry or fail ----
  #afterFailure(rc: Req, out: Failed): void {
    // A retry that finds no other endpoint reports the failure that caused it, not 503.
    if (rc.previous && out.cause === "no_healthy_upstream") return this.#fail(rc, rc.previous);
    rc.previous = out;
    const policy = rc.cluster.config.retry;
    const retry =
      out.retryable &&
      IDEMPOTENT.has(rc.method) &&
      !rc.hasBody &&
      rc.attempts <= policy.maxRetries &&
      policy.retryOn.includes(out.retryOn as (typeof policy.retryOn)[number]) &&
      !rc.res.headersSent &&
      !rc.clientClosed &&
      !this.#overloaded() &&
      this.#retryBudgetAllows(policy.budgetPercent, policy.minRetryConcurrency);
    if (!retry) return this.#fail(rc, out);
    if (!rc.retrying) {
      rc.retrying = true;
      this.#activeRetries++;
    }
    this.#next(rc);
  }

  #retryBudgetAllows(budgetPercent: number, minConcurrency: number): boolean {
    const budget = Math.max(minConcurrency, (budgetPercent / 100) * this.#inFlight);
    return this.#activeRetries < budget;
  }

  #fail(rc: Req, out: Failed): void {
    writeError(rc.res, out.cause, out.detail);
    this.#finish(rc, PROXY_ERRORS[out.cause], out.cause);
  }

  #finish(rc: Req, status: number, error?: ProxyErrorCause): void {
    this.#inFlight--;
    if (rc.retrying) {
      rc.retrying = false;
      this.#activeRetries--;
    }
    rc.res.off("close", rc.onClose);
    if (rc.silent) return;
    this.#hooks.onRequest?.({
      cluster: rc.cluster.name,
      method: rc.method,
      status,
      error,
      latencyMs: this.#clock.now() - rc.startedAt,
      attempts: rc.attempts,
      ctx: rc.ctx,
    });
  }

  #reject(
    req: IncomingMessage,
    res: ServerResponse,
    startedAt: number,
    ctx: unknown,
    cluster: string | undefined,
    cause: ProxyErrorCause,
    detail: string,
  ): void {
    writeError(res, cause, detail);
    this.#inFlight--;
    this.#hooks.onRequest?.({
      cluster,
      method: req.method ?? "GET",
      status: PROXY_ERRORS[cause],
      error: cause,
      latencyMs: this.#clock.now() - startedAt,
      attempts: 0,
      ctx,
    });
  }

  #connectMs(a: Attempt): number | undefined {
    return a.reused ? undefined : a.conn?.connectMs;
  }

  #report(a: Attempt, r: Omit<AttemptInfo, "cluster" | "host" | "attempt" | "latencyMs" | "score" | "ctx">): void {
    const hook = this.#hooks.onAttempt;
    if (!hook || (a.rc as Req).silent) return;
    hook({
      cluster: a.rc.cluster.name,
      host: a.host,
      attempt: a.number,
      latencyMs: this.#clock.now() - a.startedAt,
      score: a.score,
      ctx: a.rc.ctx,
      ...r,
    });
  }
}
