/**
 * Fast signals as stored events: XADD of FastSignal JSON to the cluster's stream, bounded by
 * MAXLEN ~ (Redis trims whole macro nodes, so the bound is cheap and approximate), and the
 * cluster registered in the set of known clusters. One pipeline per cluster.
 */
import { type FastSignal, redisKeys } from "@meshtune/contracts";
import { errorMessage, type Result } from "../result.js";
import { SIGNAL_STREAM_FIELD } from "./fields.js";
import type { RedisLike } from "./write.js";

export interface SignalStoreOptions {
  prefix?: string;
  /** Approximate stream length bound per cluster. Default 10 000. */
  maxLen?: number;
  /** The stream expires this long after its last signal (s). Default 3600. */
  ttlSec?: number;
}

export async function appendSignals(
  redis: RedisLike,
  cluster: string,
  signals: readonly FastSignal[],
  opts: SignalStoreOptions = {},
): Promise<Result<{ ids: string[] }>> {
  if (signals.length === 0) return { ok: true, value: { ids: [] } };
  const key = redisKeys(opts.prefix).signals(cluster);
  const maxLen = opts.maxLen ?? 10_000;
  try {
    const p = redis.pipeline();
    for (const s of signals) p.xadd(key, "MAXLEN", "~", maxLen, "*", SIGNAL_STREAM_FIELD, JSON.stringify(s));
    p.expire(key, opts.ttlSec ?? 3_600);
    const replies = (await p.exec()) ?? [];
    const ids: string[] = [];
    for (const [err, v] of replies.slice(0, signals.length)) {
      if (err) throw err;
      ids.push(String(v));
    }
    return { ok: true, value: { ids } };
  } catch (err) {
    return { ok: false, retryable: true, error: `append signals of ${cluster}: ${errorMessage(err)}` };
  }
}

/** Adds clusters to the set of known clusters (its own slot, so not part of the per-cluster script). */
export async function registerClusters(
  redis: RedisLike,
  clusters: readonly string[],
  prefix?: string,
): Promise<Result<void>> {
  if (clusters.length === 0) return { ok: true, value: undefined };
  try {
    await redis.sadd(redisKeys(prefix).clusters(), ...clusters);
    return { ok: true, value: undefined };
  } catch (err) {
    return { ok: false, retryable: true, error: `register clusters: ${errorMessage(err)}` };
  }
}
