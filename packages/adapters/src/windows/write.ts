/**
 * The window writer: one EVALSHA per (cluster, proxy) report merges a batch of points into the
 * cluster's 1-second buckets (MERGE_LUA). Delta state lives in Redis, so any number of
 * stateless collectors can receive any proxy's pushes in any order; HINCRBY/HINCRBYFLOAT are
 * commutative, so two collectors that received different proxies' data leave exactly the
 * windows one collector would have (tested in windows-store.test.ts).
 */
import { createHash } from "node:crypto";
import { redisKeys } from "@meshtune/contracts";
import type { Cluster, Redis } from "ioredis";
import { errorMessage, type Result } from "../result.js";
import { GAUGE_ORDER, type GaugeName, parseField } from "./fields.js";
import { MERGE_LUA } from "./merge.lua.js";

/** A client of one Redis or of a Redis Cluster (all keys of one call share a hash tag). */
export type RedisLike = Redis | Cluster;

export type Temporality = "cumulative" | "delta";

/**
 * One counter point: `field` of the point's bucket gets the delta; when positive, so does this
 * proxy's per-proxy entry `proxyField` (`<endpoint>|fail` or `<endpoint>|ok`, from bucketField).
 */
export interface CounterPoint {
  type: "counter";
  /** Identity of the series within its (cluster, proxy): metric, endpoint and label values. */
  series: string;
  startUs: number;
  timeUs: number;
  temporality: Temporality;
  value: number;
  field: string;
  proxyField?: string;
}

/** One explicit-bucket histogram point; `counts.length` must equal the kind's bounds + 1. */
export interface HistogramPoint {
  type: "histogram";
  series: string;
  startUs: number;
  timeUs: number;
  temporality: Temporality;
  count: number;
  sum: number;
  counts: readonly number[];
  /** `<endpoint>|<kind>`: the script writes `|n`, `|sum` and `|b<i>`. */
  field: string;
}

/**
 * The latest value of a per-proxy gauge. A batch's gauges replace the proxy's stored snapshot
 * together, and only when the batch is newer (one export is one snapshot of all its gauges).
 */
export interface GaugePoint {
  type: "gauge";
  field: string;
  timeMs: number;
  value: number;
}

export type WindowPoint = CounterPoint | HistogramPoint | GaugePoint;

/** One proxy's points for one cluster. */
export interface WindowBatch {
  cluster: string;
  proxy: string;
  /** When the collector received it (Unix ms): the proxy's entry in the proxies set. */
  receivedAt: number;
  points: readonly WindowPoint[];
}

export interface WindowStoreOptions {
  prefix?: string;
  /** How long 1-second buckets are kept (s). Default 120. */
  horizonSec?: number;
  /**
   * How long a proxy's cumulative state outlives its last report (s). Longer than the horizon,
   * so a proxy that pauses does not have its whole history counted again. Default 3600.
   */
  stateTtlSec?: number;
  /** Points further ahead of the receive time than this are not bucketed (clock skew), ms. Default 300 000. */
  maxFutureSkewMs?: number;
}

export interface WriteOutcome {
  /** Points that contributed to the windows or set a baseline. */
  counted: number;
  /** Duplicates and out-of-order points, which count nothing. */
  skipped: number;
  /** Points outside the horizon or too far in the future: their state is kept, no bucket written. */
  outOfRange: number;
}

export const WINDOW_DEFAULTS = { horizonSec: 120, stateTtlSec: 3_600, maxFutureSkewMs: 300_000 } as const;

const MERGE_SHA = createHash("sha1").update(MERGE_LUA).digest("hex");

/** Writes batches; `write` never throws (a Redis failure is a retryable Failure). */
export interface WindowStore {
  write(batch: WindowBatch): Promise<Result<WriteOutcome>>;
}

export function createWindowStore(redis: RedisLike, opts: WindowStoreOptions = {}): WindowStore {
  const keys = redisKeys(opts.prefix);
  const horizonSec = opts.horizonSec ?? WINDOW_DEFAULTS.horizonSec;
  const stateTtlSec = opts.stateTtlSec ?? WINDOW_DEFAULTS.stateTtlSec;
  const skewMs = opts.maxFutureSkewMs ?? WINDOW_DEFAULTS.maxFutureSkewMs;
  return {
    async write(batch) {
      const nowSec = Math.floor(batch.receivedAt / 1000);
      const seconds: number[] = [];
      const index = new Map<number, number>();
      let outOfRange = 0;
      const bucketOf = (timeMs: number): number => {
        const sec = Math.floor(timeMs / 1000);
        if (sec <= nowSec - horizonSec || timeMs > batch.receivedAt + skewMs) {
          outOfRange++;
          return 0;
        }
        let i = index.get(sec);
        if (i === undefined) {
          seconds.push(sec);
          i = seconds.length;
          index.set(sec, i);
        }
        return i;
      };
      const entries: unknown[] = [];
      const gauges: Record<string, (number | null)[]> = {};
      let gaugeTime = -1;
      for (const p of batch.points) {
        if (p.type === "gauge") {
          addGauge(gauges, p);
          if (p.timeMs > gaugeTime) gaugeTime = p.timeMs;
        } else entries.push(encodeEntry(p, bucketOf));
      }
      const argv = [
        batch.proxy,
        String(batch.receivedAt),
        seconds.map((s) => s + horizonSec).join(","),
        String(stateTtlSec),
        String(horizonSec),
        // A series that started within the horizon belongs in the windows; an older one's whole
        // value would put hours of traffic into one second, so it only sets the baseline.
        String((batch.receivedAt - horizonSec * 1000) * 1000),
        JSON.stringify(entries),
        String(gaugeTime),
        gaugeTime >= 0 ? JSON.stringify(gauges) : "",
      ];
      const k = [
        keys.cumulative(batch.cluster, batch.proxy),
        keys.gauges(batch.cluster, batch.proxy),
        keys.proxies(batch.cluster),
        ...seconds.map((s) => keys.windowBucket(batch.cluster, s)),
        ...seconds.map((s) => keys.windowProxyBucket(batch.cluster, s)),
      ];
      try {
        const [counted, skipped] = (await evalMerge(redis, k, argv)) as [number, number];
        return { ok: true, value: { counted, skipped, outOfRange } };
      } catch (err) {
        return { ok: false, retryable: true, error: `window write for ${batch.cluster}: ${errorMessage(err)}` };
      }
    },
  };
}

/** Gauges as stored: endpoint -> values in GAUGE_ORDER (null = not reported). */
function addGauge(into: Record<string, (number | null)[]>, p: GaugePoint): void {
  const f = parseField(p.field);
  const i = f ? GAUGE_ORDER.indexOf(f.kind as GaugeName) : -1;
  if (!f || i < 0) return;
  let values = into[f.endpoint];
  if (!values) {
    values = GAUGE_ORDER.map(() => null);
    into[f.endpoint] = values;
  }
  values[i] = p.value;
}

function encodeEntry(p: CounterPoint | HistogramPoint, bucketOf: (timeMs: number) => number): unknown[] {
  const t = p.temporality === "delta" ? "d" : "c";
  const bi = bucketOf(p.timeUs / 1000);
  if (p.type === "counter") return ["c", p.series, p.startUs, p.timeUs, bi, p.field, p.proxyField ?? "", t, [p.value]];
  return ["h", p.series, p.startUs, p.timeUs, bi, p.field, "", t, [p.count, p.sum, ...p.counts]];
}

/** EVALSHA, loading the script on a node that does not have it yet (NOSCRIPT). */
async function evalMerge(redis: RedisLike, keys: string[], argv: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(MERGE_SHA, keys.length, ...keys, ...argv);
  } catch (err) {
    if (!errorMessage(err).includes("NOSCRIPT")) throw err;
    return await redis.eval(MERGE_LUA, keys.length, ...keys, ...argv);
  }
}
