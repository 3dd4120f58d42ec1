/**
 * Field names inside the collector's Redis hashes (keys come from `redisKeys()` in contracts).
 * One module owns them so the writer (collector) and the reader (readClusterWindows) cannot
 * drift. A 1-second bucket hash (and its per-proxy twin) holds `<endpoint>|<kind>|<rest>`; endpoint keys never contain
 * `|` (`address:port` or `[v6]:port`), so the first `|` ends the endpoint.
 * Layout and the evidence for it: docs/decisions/0007-windows-in-redis.md.
 */
import { LATENCY_BUCKETS_SECONDS, SHORT_BUCKETS_SECONDS } from "@meshtune/contracts";

/** Bucket field kinds. Histogram kinds hold `|n`, `|sum` and `|b<i>` (i = bucket index, only when non-zero). */
export const BUCKET_KIND = {
  attempts: "att",
  latency: "lat",
  poolWait: "pw",
  connectLatency: "cl",
  connectFailures: "cf",
  warmup: "wu",
  health: "hc",
  ejections: "ej",
  picks: "pk",
  /** Per proxy, in `windowProxyBucket` (`{"<ep>": {"fail": n}}` under the proxy): failed attempts, connects, warm-ups and health checks. */
  failByProxy: "fail",
  /** Per proxy, in `windowProxyBucket` (`{"<ep>": {"ok": n}}`): successful health checks and ready warm-ups. */
  okByProxy: "ok",
} as const;
export type BucketKind = (typeof BUCKET_KIND)[keyof typeof BUCKET_KIND];

/** Histogram kinds and the bounds (seconds) their buckets use: the proxy's own (contracts). */
export const HISTOGRAM_BOUNDS: Readonly<Record<string, readonly number[]>> = {
  [BUCKET_KIND.latency]: LATENCY_BUCKETS_SECONDS,
  [BUCKET_KIND.poolWait]: SHORT_BUCKETS_SECONDS,
  [BUCKET_KIND.connectLatency]: SHORT_BUCKETS_SECONDS,
};

/** Gauges kept per proxy in `redisKeys().gauges(cluster, proxy)`: field `<endpoint>|<gauge>`. */
export const GAUGE = {
  inFlight: "inflight",
  poolIdle: "idle",
  poolActive: "active",
  poolConnecting: "connecting",
  poolPending: "pending",
  lbScore: "score",
} as const;
export type GaugeName = (typeof GAUGE)[keyof typeof GAUGE];
/** Order of the values per endpoint in a stored gauge snapshot (`gauges(cluster, proxy)`). */
export const GAUGE_ORDER: readonly GaugeName[] = [
  GAUGE.inFlight,
  GAUGE.poolIdle,
  GAUGE.poolActive,
  GAUGE.poolConnecting,
  GAUGE.poolPending,
  GAUGE.lbScore,
];

export const bucketField = (endpoint: string, kind: BucketKind, rest?: string): string =>
  rest === undefined ? `${endpoint}|${kind}` : `${endpoint}|${kind}|${rest}`;

export const gaugeField = (endpoint: string, gauge: GaugeName): string => `${endpoint}|${gauge}`;

/** Splits a bucket or gauge field; undefined for a field this version does not know. */
export function parseField(field: string): { endpoint: string; kind: string; rest: string } | undefined {
  const a = field.indexOf("|");
  if (a <= 0) return undefined;
  const b = field.indexOf("|", a + 1);
  if (b < 0) return { endpoint: field.slice(0, a), kind: field.slice(a + 1), rest: "" };
  return { endpoint: field.slice(0, a), kind: field.slice(a + 1, b), rest: field.slice(b + 1) };
}

/** Stream field of a FastSignal JSON entry in `redisKeys().signals(cluster)`. */
export const SIGNAL_STREAM_FIELD = "s";
