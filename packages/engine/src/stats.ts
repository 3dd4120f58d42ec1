/**
 * Window figures the rules share, computed once per evaluation from ClusterWindows: per endpoint
 * the short-view (10 s) attempts, error rate, mean latency, per-proxy in-flight and pool
 * pressure, the hard-failure evidence, and the cluster median latency rules compare against.
 */
import type { ClusterWindows, EndpointWindow, FastSignal, HistogramWindow } from "@meshtune/contracts";
import { WINDOW_VIEWS } from "@meshtune/contracts";
import type { EngineConfig } from "./config.js";

export interface EndpointStats {
  endpoint: string;
  short?: EndpointWindow;
  long?: EndpointWindow;
  attempts: number;
  /** 5xx + no response, short view. */
  failures: number;
  errorRate: number;
  meanLatencyMs?: number;
  /** Coefficient of variation of a request's latency (from the histogram; bucket midpoints). */
  latencyCv: number;
  /** In-flight requests per reporting proxy (short view gauges). */
  inFlightPerProxy: number;
  /** (pending + connecting) / (idle + active + 1): requests that would pay a handshake. */
  poolPressure: number;
  proxies: number;
  /** Refused / timed-out / TLS connects in the short view. */
  hardConnectFailures: number;
  /** Warm-up and health-check failure signals of this endpoint in the short view. */
  hardSignals: FastSignal[];
  /** Proxies with at least one failure in the short view. */
  failingProxies: string[];
  /** Fleet attempts per second, oldest first (long view). */
  rates: number[];
}

export interface ClusterStats {
  cluster: string;
  at: number;
  proxies: number;
  endpoints: Map<string, EndpointStats>;
  /** Median of the endpoints' mean latency (endpoints with enough attempts), ms. */
  medianLatencyMs?: number;
  /** Mean of in-flight per proxy per unit weight over endpoints with data. */
  meanLoadPerWeight: number;
  /**
   * The cluster's background error rate: median of the endpoints' error rates (endpoints with
   * enough attempts), so one failing endpoint does not raise the bar for the others.
   */
  errorRate: number;
}

export function histogramMean(h: HistogramWindow): number | undefined {
  return h.count > 0 ? h.sum / h.count : undefined;
}

/** Standard deviation from bucket midpoints (the open last bucket counts at its lower bound). */
export function histogramStdDev(h: HistogramWindow): number | undefined {
  if (h.count <= 0) return undefined;
  let sq = 0;
  let n = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] ?? 0;
    if (c === 0) continue;
    const lo = i === 0 ? 0 : (h.bounds[i - 1] ?? 0);
    const hi = i < h.bounds.length ? (h.bounds[i] ?? lo) : lo;
    const mid = (lo + hi) / 2;
    sq += c * mid * mid;
    n += c;
  }
  const mean = h.sum / h.count;
  return n > 0 ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : undefined;
}

/** Quantile by linear interpolation inside the bucket (Prometheus histogram_quantile). */
export function histogramQuantile(h: HistogramWindow, q: number): number | undefined {
  if (h.count <= 0 || h.bounds.length === 0) return undefined;
  const rank = q * h.count;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] ?? 0;
    if (seen + c >= rank && c > 0) {
      if (i >= h.bounds.length) return h.bounds[h.bounds.length - 1];
      const lower = i === 0 ? 0 : (h.bounds[i - 1] ?? 0);
      const upper = h.bounds[i] ?? lower;
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return h.bounds[h.bounds.length - 1];
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function sum(r: Record<string, number> | Partial<Record<string, number>>): number {
  let t = 0;
  for (const v of Object.values(r)) t += v ?? 0;
  return t;
}

const HARD_SIGNALS = new Set(["warmup_failure", "health_check_failure"]);

function endpointStats(
  endpoint: string,
  w: { short?: EndpointWindow; long?: EndpointWindow; rates: number[]; signals: FastSignal[] },
  config: EngineConfig,
): EndpointStats {
  const s = w.short;
  const attempts = s ? sum(s.attempts) : 0;
  const failures = s ? (s.attempts["5xx"] ?? 0) + (s.attempts.error ?? 0) : 0;
  const proxies = s?.proxiesReporting ?? 0;
  const g = s?.gauges;
  const hardConnectFailures = s
    ? config.eject.hardConnectReasons.reduce((t, r) => t + (s.connectFailures[r] ?? 0), 0)
    : 0;
  return {
    endpoint,
    short: s,
    long: w.long,
    attempts,
    failures,
    errorRate: attempts > 0 ? failures / attempts : 0,
    meanLatencyMs: s && s.latency.count > 0 ? (s.latency.sum / s.latency.count) * 1000 : undefined,
    latencyCv:
      s && s.latency.count > 0 && s.latency.sum > 0
        ? (histogramStdDev(s.latency) ?? 0) / (s.latency.sum / s.latency.count)
        : 0,
    inFlightPerProxy: g && proxies > 0 ? g.inFlight / proxies : 0,
    poolPressure: g ? (g.poolPending + g.poolConnecting) / (g.poolIdle + g.poolActive + 1) : 0,
    proxies,
    hardConnectFailures,
    hardSignals: w.signals,
    failingProxies: s ? Object.keys(s.failuresByProxy).filter((p) => (s.failuresByProxy[p] ?? 0) > 0) : [],
    rates: w.rates,
  };
}

/** `weightOf` gives the endpoint's current weight, to read in-flight per unit of weight. */
export function clusterStats(
  windows: ClusterWindows,
  config: EngineConfig,
  weightOf: (endpoint: string) => number,
): ClusterStats {
  const shortFrom = windows.at - WINDOW_VIEWS.short * 1000;
  const short = new Map(windows.views.short.map((w) => [w.endpoint, w]));
  const long = new Map(windows.views.long.map((w) => [w.endpoint, w]));
  const signals = new Map<string, FastSignal[]>();
  for (const sig of windows.signals) {
    if (!sig.endpoint || !HARD_SIGNALS.has(sig.kind) || sig.at < shortFrom) continue;
    const list = signals.get(sig.endpoint) ?? [];
    list.push(sig);
    signals.set(sig.endpoint, list);
  }
  const names = new Set([...short.keys(), ...long.keys(), ...signals.keys(), ...Object.keys(windows.rates)]);
  const endpoints = new Map<string, EndpointStats>();
  for (const ep of [...names].sort()) {
    const input = {
      short: short.get(ep),
      long: long.get(ep),
      rates: windows.rates[ep] ?? [],
      signals: signals.get(ep) ?? [],
    };
    endpoints.set(ep, endpointStats(ep, input, config));
  }
  const errorRates: number[] = [];
  const latencies: number[] = [];
  const loads: number[] = [];
  for (const e of endpoints.values()) {
    if (e.attempts >= config.weights.minRequests && e.meanLatencyMs !== undefined) {
      latencies.push(e.meanLatencyMs);
      errorRates.push(e.errorRate);
      loads.push(e.inFlightPerProxy / (weightOf(e.endpoint) / config.weights.defaultWeight));
    }
  }
  return {
    cluster: windows.cluster,
    at: windows.at,
    proxies: windows.proxiesReporting,
    endpoints,
    medianLatencyMs: median(latencies),
    meanLoadPerWeight: loads.length > 0 ? loads.reduce((a, b) => a + b, 0) / loads.length : 0,
    errorRate: median(errorRates) ?? 0,
  };
}
