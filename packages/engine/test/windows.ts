/** Hand-built windows for unit tests: only the figures a test names, the rest empty. */
import {
  type ClusterWindows,
  type EndpointWindow,
  type FastSignal,
  LATENCY_BUCKETS_SECONDS,
  SHORT_BUCKETS_SECONDS,
} from "@meshtune/contracts";

export interface EndpointFigures {
  endpoint: string;
  ok?: number;
  errors5xx?: number;
  meanLatencyMs?: number;
  connectRefused?: number;
  failuresByProxy?: Record<string, number>;
  healthyByProxy?: Record<string, number>;
  proxies?: number;
  inFlight?: number;
  connectMs?: number[];
  /** Pool gauges summed over the reporting proxies. */
  poolActive?: number;
  poolPending?: number;
}

export function endpointWindow(f: EndpointFigures): EndpointWindow {
  const ok = f.ok ?? 0;
  const e5 = f.errors5xx ?? 0;
  const n = ok + e5;
  const lat = (f.meanLatencyMs ?? 20) / 1000;
  const latency = {
    bounds: LATENCY_BUCKETS_SECONDS,
    counts: new Array(LATENCY_BUCKETS_SECONDS.length + 1).fill(0),
    count: n,
    sum: n * lat,
  };
  const connect = {
    bounds: SHORT_BUCKETS_SECONDS,
    counts: new Array(SHORT_BUCKETS_SECONDS.length + 1).fill(0),
    count: 0,
    sum: 0,
  };
  for (const ms of f.connectMs ?? []) {
    const s = ms / 1000;
    let i = 0;
    while (i < SHORT_BUCKETS_SECONDS.length && s > (SHORT_BUCKETS_SECONDS[i] ?? 0)) i++;
    connect.counts[i]++;
    connect.count++;
    connect.sum += s;
  }
  return {
    endpoint: f.endpoint,
    attempts: { "2xx": ok, "5xx": e5, ...(f.connectRefused ? { error: f.connectRefused } : {}) },
    latency,
    poolWait: {
      bounds: SHORT_BUCKETS_SECONDS,
      counts: new Array(SHORT_BUCKETS_SECONDS.length + 1).fill(0),
      count: 0,
      sum: 0,
    },
    connectLatency: connect,
    connectFailures: f.connectRefused ? { refused: f.connectRefused } : {},
    warmup: {},
    health: {},
    ejections: {},
    picks: n,
    gauges: {
      inFlight: f.inFlight ?? 0,
      poolIdle: 0,
      poolActive: f.poolActive ?? 0,
      poolConnecting: 0,
      poolPending: f.poolPending ?? 0,
    },
    proxiesReporting: f.proxies ?? 10,
    failuresByProxy: f.failuresByProxy ?? {},
    healthyByProxy: f.healthyByProxy ?? {},
  };
}

export function clusterWindows(
  at: number,
  endpoints: EndpointFigures[],
  signals: FastSignal[] = [],
  proxies = 10,
): ClusterWindows {
  const views = endpoints.map(endpointWindow);
  return {
    cluster: "api.example.com",
    at,
    proxiesReporting: proxies,
    views: { short: views, long: views },
    rates: Object.fromEntries(
      endpoints.map((e) => [e.endpoint, new Array(60).fill(((e.ok ?? 0) + (e.errors5xx ?? 0)) / 10)]),
    ),
    signals,
  };
}

export function signal(
  endpoint: string,
  proxy: string,
  at: number,
  kind: FastSignal["kind"] = "warmup_failure",
): FastSignal {
  return { kind, cluster: "api.example.com", endpoint, proxy, at, receivedAt: at + 20, attributes: {} };
}

export const T0 = Date.UTC(2026, 0, 1, 12);
export const EP = (i: number) => `10.1.0.${i}:443`;
