/**
 * Open-loop load generator. Requests leave on a fixed schedule whatever the responses do
 * (constant arrival rate, like real users), and each latency is measured from the request's
 * SCHEDULED send time, not from when it actually left. A closed-loop tester that waits for
 * responses, or that measures from the actual send, silently stops sending during a stall and
 * so omits exactly the slow samples ("coordinated omission", Gil Tene; wrk2 fixed it the same
 * way). The timer catches up on missed ticks: after an event-loop stall every overdue request
 * is sent at once, and its latency includes the time it spent overdue.
 */
import { performance } from "node:perf_hooks";
import { Agent, type Dispatcher, request } from "undici";
import { Histogram, type LatencySummary, summarizeMicros } from "./histogram.js";
import { type LoadStage, scheduleFromStages } from "./schedule.js";

export interface LoadOptions {
  /** Target URL (path and query included). Give `url` or `urls`. */
  url?: string;
  /** Several targets, used round-robin by request index. */
  urls?: readonly string[];
  /** Arrival rate: constant, or a function of elapsed ms (a step test). Not with `stages`. */
  rps?: number | ((elapsedMs: number) => number);
  /** Piecewise-constant rate; the run lasts the sum of the stage durations unless durationMs is set. */
  stages?: readonly LoadStage[];
  /** Stop scheduling after this long. */
  durationMs?: number;
  /** Stop scheduling after this many requests (sent + dropped). */
  requests?: number;
  method?: string;
  /** Request headers, fixed or per request index. */
  headers?: Record<string, string> | ((index: number) => Record<string, string>);
  body?: string | Uint8Array;
  /** Per-request timeout from the actual send (default 10 000). */
  timeoutMs?: number;
  /**
   * Hard bound on requests in flight (default 1000). A request scheduled while the bound is
   * reached is counted as dropped, never queued: an unbounded queue would turn an open-loop
   * test into a memory leak against a black hole.
   */
  maxInFlight?: number;
  /** Dispatcher to send with; default a keep-alive undici Agent with maxInFlight connections per origin (closed at the end). */
  dispatcher?: Dispatcher;
  /** CA to trust for https targets with the default dispatcher (e.g. testCerts.caPem). */
  ca?: string | Buffer;
  /** Negotiate HTTP/2 over TLS (ALPN) with the default dispatcher. */
  allowH2?: boolean;
  /** Called for every request outcome, including drops. */
  onResult?: (sample: LoadSample) => void;
  /** Stops scheduling and aborts requests in flight; the report covers what ran. */
  signal?: AbortSignal;
}

export interface LoadSample {
  index: number;
  url: string;
  /** Scheduled send time, ms since the run started. */
  scheduledAtMs: number;
  /** From the scheduled send time to the end of the response body (or the error). */
  latencyMs: number;
  dropped: boolean;
  status?: number;
  /** x-sim-endpoint of the response. */
  endpoint?: string;
  /** Error cause when no complete response arrived (see LoadReport.errors). */
  error?: string;
  bytes: number;
}

export interface EndpointReport {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface LoadReport {
  /** Requests actually sent. */
  sent: number;
  /** Complete responses, any status. */
  completed: number;
  /**
   * Failures without a complete response, by cause: "timeout", "aborted", "ECONNREFUSED",
   * "ECONNRESET", "socket" (peer closed mid-response), "connect_timeout", or an error code.
   */
  errors: Record<string, number>;
  errorCount: number;
  /** Complete responses per status code. */
  statuses: Record<string, number>;
  /** Scheduled while maxInFlight requests were in flight (never sent). */
  dropped: number;
  /** Complete responses only, measured from the scheduled send time. */
  latencyMs: LatencySummary;
  /** By x-sim-endpoint response header ("(none)" when absent); complete responses only. */
  byEndpoint: Record<string, EndpointReport>;
  /** Wall time from start until the last response settled. */
  durationMs: number;
  /** completed / durationMs. */
  achievedRps: number;
  bytesReceived: number;
}

/** How far to look ahead while the rate is 0. */
const IDLE_STEP_MS = 10;

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  cause?: unknown;
}

export function errorCause(err: unknown): string {
  const e = (typeof err === "object" && err !== null ? err : {}) as ErrorLike;
  const causeCode = typeof e.cause === "object" && e.cause !== null ? (e.cause as ErrorLike).code : undefined;
  switch (e.code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connect_timeout";
    case "UND_ERR_HEADERS_TIMEOUT":
      return "headers_timeout";
    case "UND_ERR_BODY_TIMEOUT":
      return "body_timeout";
    case "UND_ERR_SOCKET":
      return typeof causeCode === "string" ? causeCode : "socket";
    case undefined:
      break;
    default:
      return String(e.code);
  }
  if (typeof causeCode === "string") return causeCode;
  return typeof e.name === "string" ? e.name : "error";
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const targets = opts.urls ?? (opts.url !== undefined ? [opts.url] : []);
  if (targets.length === 0) throw new RangeError("runLoad needs url or urls");
  if (opts.stages !== undefined && opts.rps !== undefined) throw new RangeError("give rps or stages, not both");
  let rate: (t: number) => number;
  let durationMs = opts.durationMs ?? Number.POSITIVE_INFINITY;
  if (opts.stages !== undefined) {
    const s = scheduleFromStages(opts.stages);
    rate = s.rps;
    durationMs = Math.min(durationMs, s.durationMs);
  } else if (typeof opts.rps === "function") {
    rate = opts.rps;
  } else if (typeof opts.rps === "number" && opts.rps > 0) {
    const r = opts.rps;
    rate = () => r;
  } else {
    throw new RangeError("runLoad needs rps > 0 (a number or a function) or stages");
  }
  const maxRequests = opts.requests ?? Number.POSITIVE_INFINITY;
  // Bounded: a finite duration, or a finite count at a constant positive rate.
  if (!Number.isFinite(durationMs) && !(Number.isFinite(maxRequests) && typeof opts.rps === "number")) {
    throw new RangeError("runLoad needs durationMs, stages, or requests with a constant rps");
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 1000);
  const method = (opts.method ?? "GET").toUpperCase();
  const ownAgent =
    opts.dispatcher === undefined
      ? new Agent({
          connections: maxInFlight,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          allowH2: opts.allowH2 ?? false,
          ...(opts.ca !== undefined ? { connect: { ca: opts.ca } } : {}),
        })
      : undefined;
  const dispatcher: Dispatcher = opts.dispatcher ?? ownAgent!;

  const all = new Histogram();
  const perEndpoint = new Map<string, Histogram>();
  const errors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let sent = 0;
  let completed = 0;
  let errorCount = 0;
  let dropped = 0;
  let bytesReceived = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();
  let userAborted = opts.signal?.aborted ?? false;

  const start = performance.now();

  const sendOne = async (index: number, url: string, scheduledAtMs: number): Promise<void> => {
    const ac = new AbortController();
    controllers.add(ac);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    const sample: LoadSample = { index, url, scheduledAtMs, latencyMs: 0, dropped: false, bytes: 0 };
    try {
      const headers = typeof opts.headers === "function" ? opts.headers(index) : opts.headers;
      const res = await request(url, {
        dispatcher,
        method: method as Dispatcher.HttpMethod,
        signal: ac.signal,
        ...(headers !== undefined ? { headers } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      });
      sample.status = res.statusCode;
      const ep = headerString(res.headers["x-sim-endpoint"]);
      if (ep !== undefined) sample.endpoint = ep;
      for await (const chunk of res.body) sample.bytes += (chunk as Buffer).length;
    } catch (err) {
      sample.error = timedOut ? "timeout" : userAborted ? "aborted" : errorCause(err);
    } finally {
      clearTimeout(timer);
      controllers.delete(ac);
    }
    sample.latencyMs = performance.now() - (start + scheduledAtMs);
    bytesReceived += sample.bytes;
    if (sample.error !== undefined) {
      errorCount++;
      errors[sample.error] = (errors[sample.error] ?? 0) + 1;
    } else {
      completed++;
      const key = String(sample.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      const us = sample.latencyMs * 1000;
      all.record(us);
      const epKey = sample.endpoint ?? "(none)";
      let h = perEndpoint.get(epKey);
      if (h === undefined) {
        h = new Histogram();
        perEndpoint.set(epKey, h);
      }
      h.record(us);
    }
    opts.onResult?.(sample);
  };

  const fire = (index: number, scheduledAtMs: number) => {
    const url = targets[index % targets.length]!;
    if (inFlight >= maxInFlight) {
      dropped++;
      opts.onResult?.({ index, url, scheduledAtMs, latencyMs: 0, dropped: true, bytes: 0 });
      return;
    }
    sent++;
    inFlight++;
    const p = sendOne(index, url, scheduledAtMs).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  };

  await new Promise<void>((resolve) => {
    let nextAt = 0;
    let index = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      userAborted = true;
      for (const ac of controllers) ac.abort();
      finish();
    };
    const tick = () => {
      timer = undefined;
      const now = performance.now() - start;
      // Catch up: send everything that fell due, however late (bounded by the schedule's end).
      while (nextAt <= now) {
        if (index >= maxRequests || nextAt >= durationMs) return finish();
        const r = rate(nextAt);
        if (!(r > 0)) {
          nextAt += IDLE_STEP_MS;
          continue;
        }
        fire(index++, nextAt);
        nextAt += 1000 / r;
      }
      if (index >= maxRequests || nextAt >= durationMs) return finish();
      timer = setTimeout(tick, Math.max(0, nextAt - (performance.now() - start)));
    };
    if (userAborted) return finish();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    tick();
  });
  // Requests in flight settle by their timeout at the latest.
  while (pending.size > 0) await Promise.allSettled([...pending]);
  if (ownAgent !== undefined) await ownAgent.close();

  const elapsed = performance.now() - start;
  const byEndpoint: Record<string, EndpointReport> = {};
  for (const [name, h] of [...perEndpoint].sort(([a], [b]) => a.localeCompare(b))) {
    byEndpoint[name] = {
      count: h.count,
      p50: h.valueAtPercentile(50) / 1000,
      p99: h.valueAtPercentile(99) / 1000,
      mean: h.mean / 1000,
    };
  }
  return {
    sent,
    completed,
    errors,
    errorCount,
    statuses,
    dropped,
    latencyMs: summarizeMicros(all),
    byEndpoint,
    durationMs: elapsed,
    achievedRps: elapsed > 0 ? completed / (elapsed / 1000) : 0,
    bytesReceived,
  };
}
