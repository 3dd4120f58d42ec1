/**
 * The window reader the engine calls (issue #10): sums a cluster's 1-second buckets into the
 * 10 s and 60 s views of `ClusterWindows` (packages/contracts/src/windows.ts), adds each
 * proxy's latest gauges and the fast signals. One pipeline for the buckets, the proxies set and
 * the signals (all keys share the cluster's hash tag, so this works on Redis Cluster), then one
 * for the gauges of the proxies that reported within the long view.
 *
 * View [at - N s, at): whole seconds, the buckets of seconds floor(at/1000) - N .. floor(at/1000) - 1.
 * The per-proxy fields (`windowProxyBucket`) are read for the short view only (contracts).
 */
import {
  type ClusterWindows,
  type EndpointWindow,
  type FastSignal,
  FastSignalSchema,
  redisKeys,
  WINDOW_VIEWS,
  type WindowViewName,
} from "@meshtune/contracts";
import { errorMessage, type Result } from "../result.js";
import { addGauges, emptyEndpoint, type GaugeSample } from "./endpoint.js";
import { SIGNAL_STREAM_FIELD } from "./fields.js";
import { addBucketField, type Bucket, type FieldTotal, foldBuckets } from "./fold.js";
import type { RedisLike } from "./write.js";

export interface ReadWindowsOptions {
  cluster: string;
  /** End of the views (exclusive), Unix ms. */
  at: number;
  prefix?: string;
}

export async function readClusterWindows(redis: RedisLike, opts: ReadWindowsOptions): Promise<Result<ClusterWindows>> {
  const keys = redisKeys(opts.prefix);
  const longSec = WINDOW_VIEWS.long;
  const endSec = Math.floor(opts.at / 1000);
  const since = opts.at - longSec * 1000;
  try {
    const p = redis.pipeline();
    const shortSec = WINDOW_VIEWS.short;
    for (let s = endSec - longSec; s < endSec; s++) p.hgetall(keys.windowBucket(opts.cluster, s));
    for (let s = endSec - shortSec; s < endSec; s++) p.hgetall(keys.windowProxyBucket(opts.cluster, s));
    p.zrangebyscore(keys.proxies(opts.cluster), since, opts.at);
    // Stream ids are receive times; a signal seen shortly before the view may arrive inside it.
    p.xrange(keys.signals(opts.cluster), String(Math.max(0, since - 60_000)), "+", "COUNT", 10_000);
    const replies = await p.exec();
    if (!replies) throw new Error("pipeline aborted");
    const values = replies.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const buckets = values.slice(0, longSec) as Bucket[];
    const perProxy = values.slice(longSec, longSec + shortSec) as Bucket[];
    const proxies = values[longSec + shortSec] as string[];
    const stream = values[longSec + shortSec + 1] as [string, string[]][];

    // All gauge keys share the cluster's hash tag: one MGET, also on Redis Cluster.
    const raw = proxies.length > 0 ? await redis.mget(...proxies.map((x) => keys.gauges(opts.cluster, x))) : [];
    const gauges = new Map<string, GaugeSnapshot>();
    raw.forEach((v, i) => {
      const snap = v ? parseGauges(v) : undefined;
      if (snap) gauges.set(proxies[i]!, snap);
    });

    // One pass over the buckets for both views and the rates (fold.ts).
    const folded = foldBuckets(buckets, longSec - shortSec);
    const views = {} as Record<WindowViewName, EndpointWindow[]>;
    for (const name of Object.keys(WINDOW_VIEWS) as WindowViewName[]) {
      const n = WINDOW_VIEWS[name];
      views[name] = sumView({
        totals: folded.totals,
        view: name,
        perProxy: name === "short" ? perProxy : [],
        gauges,
        from: opts.at - n * 1000,
        to: opts.at,
      });
    }
    return {
      ok: true,
      value: {
        cluster: opts.cluster,
        at: opts.at,
        proxiesReporting: proxies.length,
        views,
        rates: folded.rates,
        signals: parseSignals(stream, since, opts.at),
      },
    };
  } catch (err) {
    return { ok: false, retryable: true, error: `read windows of ${opts.cluster}: ${errorMessage(err)}` };
  }
}

interface GaugeSnapshot {
  time: number;
  /** endpoint -> values in GAUGE_ORDER (null = not reported) */
  values: Record<string, (number | null)[]>;
}

/** `<time ms>|<JSON>` as the merge script stores it; undefined when unreadable. */
function parseGauges(raw: string): GaugeSnapshot | undefined {
  const bar = raw.indexOf("|");
  const time = Number(raw.slice(0, bar));
  if (bar < 0 || !Number.isFinite(time)) return undefined;
  try {
    const values: unknown = JSON.parse(raw.slice(bar + 1));
    return typeof values === "object" && values !== null
      ? { time, values: values as GaugeSnapshot["values"] }
      : undefined;
  } catch {
    return undefined;
  }
}

interface ViewInput {
  /** Every bucket field's totals over the read (foldBuckets); the view picks its own sum. */
  totals: readonly FieldTotal[];
  view: WindowViewName;
  /** Per-proxy buckets (field proxy -> JSON {"<ep>": {"fail": n, "ok": n}}); empty for the long view. */
  perProxy: Bucket[];
  gauges: Map<string, GaugeSnapshot>;
  from: number;
  to: number;
}

function sumView(v: ViewInput): EndpointWindow[] {
  const eps = new Map<string, EndpointWindow>();
  const reporting = new Map<string, Set<string>>();
  const ep = (name: string) => {
    let w = eps.get(name);
    if (!w) {
      w = emptyEndpoint(name);
      eps.set(name, w);
      reporting.set(name, new Set());
    }
    return w;
  };
  for (const t of v.totals) {
    if (v.view === "long") addBucketField(ep(t.endpoint), t.kind, t.rest, t.long);
    else if (t.inShort) addBucketField(ep(t.endpoint), t.kind, t.rest, t.short);
  }
  for (const bucket of v.perProxy) {
    for (const proxy in bucket) {
      for (const [name, counts] of Object.entries(parsePerProxy(bucket[proxy]!))) {
        const w = ep(name);
        reporting.get(name)!.add(proxy);
        if (counts.fail) w.failuresByProxy[proxy] = (w.failuresByProxy[proxy] ?? 0) + counts.fail;
        if (counts.ok) w.healthyByProxy[proxy] = (w.healthyByProxy[proxy] ?? 0) + counts.ok;
      }
    }
  }
  const samples = new Map<string, GaugeSample[]>();
  for (const [proxy, snap] of v.gauges) {
    if (snap.time < v.from || snap.time >= v.to) continue;
    for (const name in snap.values) {
      const values = snap.values[name];
      if (!Array.isArray(values)) continue;
      ep(name);
      reporting.get(name)!.add(proxy);
      let list = samples.get(name);
      if (!list) {
        list = [];
        samples.set(name, list);
      }
      list.push({ proxy, values });
    }
  }
  for (const [name, w] of eps) {
    addGauges(w, samples.get(name) ?? []);
    w.proxiesReporting = reporting.get(name)!.size;
  }
  return [...eps.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

function parsePerProxy(raw: string): Record<string, { fail?: number; ok?: number }> {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === "object" && v !== null ? (v as Record<string, { fail?: number; ok?: number }>) : {};
  } catch {
    return {};
  }
}

function parseSignals(stream: [string, string[]][], from: number, to: number): FastSignal[] {
  const out: FastSignal[] = [];
  for (const [, kv] of stream) {
    const i = kv.indexOf(SIGNAL_STREAM_FIELD);
    if (i < 0 || i % 2 !== 0) continue;
    try {
      const raw: unknown = JSON.parse(kv[i + 1] ?? "");
      // The time filter first: the XRANGE reaches 60 s before the view, and the schema check
      // costs more than the JSON parse (bench/engine/profile-read.mjs, decision 0011).
      const at = typeof raw === "object" && raw !== null ? (raw as { at?: unknown }).at : undefined;
      if (typeof at !== "number" || at < from || at >= to) continue;
      const parsed = FastSignalSchema.safeParse(raw);
      if (parsed.success) out.push(parsed.data);
    } catch {
      // A malformed entry is skipped: one bad writer must not hide every other signal.
    }
  }
  return out.sort((a, b) => a.at - b.at);
}
