/**
 * Fast signals as stored events: XADD of FastSignal JSON to the cluster's stream, bounded by
 * MAXLEN ~ (Redis trims whole macro nodes, so the bound is cheap and approximate). One script
 * call per cluster and batch: a client command per signal cost more than the rest of the
 * signal's handling (collector bench, stored fast-signal spans per CPU-second).
 *
 * KEYS[1] the cluster's signal stream; ARGV[1] MAXLEN; ARGV[2] TTL (s); ARGV[3..] FastSignal JSON.
 */
import { createHash } from "node:crypto";
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

const APPEND_LUA = `
local ids = {}
for i = 3, #ARGV do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '${SIGNAL_STREAM_FIELD}', ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return ids
`;
const APPEND_SHA = createHash("sha1").update(APPEND_LUA).digest("hex");

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
    const args = [String(maxLen), String(opts.ttlSec ?? 3_600), ...signals.map((x) => JSON.stringify(x))];
    let ids: unknown;
    try {
      ids = await redis.evalsha(APPEND_SHA, 1, key, ...args);
    } catch (err) {
      if (!errorMessage(err).includes("NOSCRIPT")) throw err;
      ids = await redis.eval(APPEND_LUA, 1, key, ...args);
    }
    return { ok: true, value: { ids: (ids as unknown[]).map(String) } };
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
