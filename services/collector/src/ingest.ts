/**
 * One export request from decoded body to Redis: windows (one script per cluster and proxy),
 * fast signals (stream + immediate evaluation), the known-clusters set, and the bookkeeping
 * for the interval evaluations. Returns what the HTTP layer answers; never throws.
 */
import {
  appendSignals,
  errorMessage,
  type Logger,
  type RedisLike,
  registerClusters,
  type WindowStore,
} from "@meshtune/adapters";
import { type FastSignal, redisKeys } from "@meshtune/contracts";
import type { CollectorMetrics } from "./metrics.js";
import { extractMetrics } from "./otlp/metrics.js";
import { decodeMetrics, decodeTraces, type Encoding } from "./otlp/proto.js";
import { extractSignals } from "./otlp/spans.js";
import type { EvaluationTriggers } from "./triggers.js";

export type IngestResult =
  | { status: 200; rejected: number; message: string }
  | { status: 400 | 503; reason: string; message: string };

export interface IngestDeps {
  redis: RedisLike;
  store: WindowStore;
  prefix?: string;
  metrics: CollectorMetrics;
  triggers: EvaluationTriggers;
  logger: Logger;
  now: () => number;
  horizonSec: number;
  signalMaxLen: number;
}

/** How often a replica re-adds a cluster to the known-clusters set (SADD is idempotent). */
const REGISTER_EVERY_MS = 60_000;
/** Bound on the (cluster, proxy) pairs remembered for the series gauge. */
const MAX_TRACKED = 100_000;

function summary(rejected: ReadonlyMap<string, number>): string {
  return [...rejected].map(([reason, n]) => `${n} ${reason}`).join(", ");
}

export class Ingest {
  readonly #d: IngestDeps;
  readonly #registered = new Map<string, number>();
  readonly #series = new Map<string, { n: number; at: number }>();

  constructor(deps: IngestDeps) {
    this.#d = deps;
  }

  async metrics(body: Uint8Array, encoding: Encoding): Promise<IngestResult> {
    const d = this.#d;
    let req: ReturnType<typeof decodeMetrics>;
    try {
      req = decodeMetrics(body, encoding);
    } catch (err) {
      d.metrics.decodeErrors.inc({ encoding });
      return {
        status: 400,
        reason: "malformed",
        message: `malformed ${encoding} metrics payload: ${errorMessage(err)}`,
      };
    }
    const receivedAt = d.now();
    const x = extractMetrics(req, receivedAt);
    d.metrics.points.inc(x.points);
    if (x.ignored > 0) d.metrics.ignored.inc({ what: "points" }, x.ignored);
    d.metrics.rejectMany("points", x.rejected);
    const results = await Promise.all(
      x.batches.map(async (b) => {
        const stop = d.metrics.redisWrite.startTimer();
        const r = await d.store.write(b);
        stop();
        return r;
      }),
    );
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) {
      d.logger.warn({ error: failed.error }, "window write failed");
      return { status: 503, reason: "redis_unavailable", message: "windows could not be stored; retry later" };
    }
    for (const b of x.batches) {
      d.triggers.fresh(b.cluster);
      this.#track(`${b.cluster}\n${b.proxy}`, b.points.filter((p) => p.type !== "gauge").length, receivedAt);
    }
    await this.#register(
      x.batches.map((b) => b.cluster),
      receivedAt,
    );
    const rejected = [...x.rejected.values()].reduce((a, b) => a + b, 0);
    return { status: 200, rejected, message: rejected > 0 ? `rejected data points: ${summary(x.rejected)}` : "" };
  }

  async traces(body: Uint8Array, encoding: Encoding): Promise<IngestResult> {
    const d = this.#d;
    let req: ReturnType<typeof decodeTraces>;
    try {
      req = decodeTraces(body, encoding);
    } catch (err) {
      d.metrics.decodeErrors.inc({ encoding });
      return {
        status: 400,
        reason: "malformed",
        message: `malformed ${encoding} traces payload: ${errorMessage(err)}`,
      };
    }
    const receivedAt = d.now();
    const x = extractSignals(req, receivedAt);
    d.metrics.spans.inc(x.spans);
    if (x.ignored > 0) d.metrics.ignored.inc({ what: "spans" }, x.ignored);
    d.metrics.rejectMany("spans", x.rejected);
    const byCluster = await this.#byCluster(x.signals);
    for (const [cluster, signals] of byCluster) {
      const r = await appendSignals(d.redis, cluster, signals, { prefix: d.prefix, maxLen: d.signalMaxLen });
      if (!r.ok) {
        d.logger.warn({ error: r.error }, "fast signal write failed");
        return { status: 503, reason: "redis_unavailable", message: "signals could not be stored; retry later" };
      }
      const kinds = new Map<string, number>();
      for (const s of signals) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
      for (const [kind, n] of kinds) d.metrics.signals.inc({ kind }, n);
      d.triggers.signal(cluster);
    }
    await this.#register([...byCluster.keys()], receivedAt);
    const rejected = [...x.rejected.values()].reduce((a, b) => a + b, 0);
    return { status: 200, rejected, message: rejected > 0 ? `rejected spans: ${summary(x.rejected)}` : "" };
  }

  /** Cumulative series written per (cluster, proxy) within the horizon, summed. */
  seriesTracked(now: number): number {
    let n = 0;
    for (const [k, v] of this.#series) {
      if (now - v.at > this.#d.horizonSec * 1000) this.#series.delete(k);
      else n += v.n;
    }
    return n;
  }

  #track(key: string, n: number, at: number): void {
    if (this.#series.size >= MAX_TRACKED && !this.#series.has(key)) return;
    this.#series.set(key, { n, at });
  }

  async #register(clusters: string[], now: number): Promise<void> {
    const due = [...new Set(clusters)].filter((c) => now - (this.#registered.get(c) ?? -Infinity) >= REGISTER_EVERY_MS);
    if (due.length === 0) return;
    const r = await registerClusters(this.#d.redis, due, this.#d.prefix);
    if (!r.ok) return this.#d.logger.warn({ error: r.error }, "could not register clusters");
    if (this.#registered.size > MAX_TRACKED) this.#registered.clear();
    for (const c of due) this.#registered.set(c, now);
  }

  /**
   * Signals grouped by cluster. A config NACK is proxy-wide (its span names no cluster), so it
   * goes to every cluster the proxy reported for within the horizon.
   */
  async #byCluster(signals: FastSignal[]): Promise<Map<string, FastSignal[]>> {
    const out = new Map<string, FastSignal[]>();
    const add = (s: FastSignal) => {
      const list = out.get(s.cluster);
      if (list) list.push(s);
      else out.set(s.cluster, [s]);
    };
    for (const s of signals) {
      if (s.cluster) add(s);
      else for (const cluster of await this.#clustersOf(s.proxy)) add({ ...s, cluster });
    }
    return out;
  }

  async #clustersOf(proxy: string): Promise<string[]> {
    const keys = redisKeys(this.#d.prefix);
    try {
      const clusters = (await this.#d.redis.smembers(keys.clusters())).slice(0, 1_000);
      const scores = await Promise.all(clusters.map((c) => this.#d.redis.zscore(keys.proxies(c), proxy)));
      return clusters.filter((_, i) => scores[i] !== null);
    } catch (err) {
      this.#d.logger.warn({ err }, "could not find the clusters of a NACKing proxy");
      return [];
    }
  }
}
