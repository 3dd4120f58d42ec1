/**
 * The engine's Redis I/O (keys only from contracts `redisKeys`): the per-cluster lock, the
 * state and operator settings read before an evaluation, and the one atomic commit after it.
 *
 * Lock: SET NX PX with a random token; released by compare-and-delete (Redis docs on SET, the
 * pattern BullMQ uses for job locks), so a worker never releases a lock another one took after
 * its own expired. Commit: one Lua script that first checks the token is still ours (fencing:
 * a worker whose lock lapsed mid-evaluation writes nothing), then adds each decision to the
 * stream unless its decision-seen marker exists (SET NX PX, so a retried job adds nothing
 * twice) and writes the new state. Every key carries the cluster's hash tag, so the script
 * runs on Redis Cluster too. The cluster name is then PUBLISHed on the decisions channel when
 * anything was added (the actuator also scans, so a lost message only delays).
 */
import { randomUUID } from "node:crypto";
import { type Cluster, errorMessage, type Redis, type Result, runScript, script } from "@meshtune/adapters";
import {
  type Decision,
  type EndpointPin,
  EndpointPinSchema,
  OPERATOR_SETTING_FIELDS,
  redisChannels,
  redisKeys,
  settingEnabled,
} from "@meshtune/contracts";
import { type EngineState, type OperatorSettings, parseEngineState } from "@meshtune/engine";

export type RedisLike = Redis | Cluster;

const COMMIT = script(`
-- KEYS[1] lock, KEYS[2] engine state, KEYS[3] decision stream, KEYS[4..] decision-seen markers
-- ARGV[1] lock token, ARGV[2] state JSON, ARGV[3] marker TTL ms, ARGV[4] stream MAXLEN (approximate),
-- ARGV[5..] decision JSON, in the order of KEYS[4..]. Returns -1 when the lock is not ours,
-- else the 1-based indexes of the decisions added.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local added = {}
for i = 4, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[3]) then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'd', ARGV[i + 1])
    added[#added + 1] = i - 3
  end
end
redis.call('SET', KEYS[2], ARGV[2])
return added`);

const RELEASE = script(`
-- KEYS[1] lock key; ARGV[1] owner token. Deletes the lock only when this owner still holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** Settings hashes and pins as Redis returns them -> OperatorSettings (bad pins are skipped, not fatal). */
export function parseOperatorSettings(
  cluster: Record<string, string>,
  global: Record<string, string>,
  pins: Record<string, string>,
): { settings: OperatorSettings; badPins: string[] } {
  const F = OPERATOR_SETTING_FIELDS;
  const parsed: Record<string, EndpointPin> = {};
  const badPins: string[] = [];
  for (const [ep, raw] of Object.entries(pins)) {
    try {
      const p = EndpointPinSchema.safeParse(JSON.parse(raw));
      if (p.success) parsed[ep] = p.data;
      else badPins.push(ep);
    } catch {
      badPins.push(ep);
    }
  }
  const max = Number(cluster[F.maxChangesPerMinute]);
  return {
    settings: {
      dryRun: { cluster: settingEnabled(cluster[F.dryRun]), global: settingEnabled(global[F.dryRun]) },
      killSwitch: { cluster: settingEnabled(cluster[F.killSwitch]), global: settingEnabled(global[F.killSwitch]) },
      pins: parsed,
      ...(Number.isInteger(max) && max >= 0 && cluster[F.maxChangesPerMinute] !== undefined
        ? { maxChangesPerMinute: max }
        : {}),
    },
    badPins,
  };
}

export interface EngineStoreOptions {
  prefix?: string;
  /** How long a decision id is remembered against a retried job. Default 24 h. */
  seenTtlMs?: number;
  /** Approximate MAXLEN of a cluster's decision stream. Default 100 000. */
  streamMaxLen?: number;
}

export interface Loaded {
  state: EngineState;
  operator: OperatorSettings;
  badPins: string[];
}

export function createEngineStore(redis: RedisLike, opts: EngineStoreOptions = {}) {
  const keys = redisKeys(opts.prefix);
  const channels = redisChannels(opts.prefix);
  const seenTtlMs = opts.seenTtlMs ?? 86_400_000;
  const maxLen = opts.streamMaxLen ?? 100_000;
  // runScript is typed for a single Redis; an ioredis Cluster has the same evalsha/eval.
  const r = redis as Redis;
  return {
    async lock(cluster: string, ttlMs: number): Promise<string | undefined> {
      const token = randomUUID();
      const got = await redis.set(keys.lock(cluster, "engine"), token, "PX", ttlMs, "NX");
      return got === "OK" ? token : undefined;
    },
    async unlock(cluster: string, token: string): Promise<void> {
      await runScript(r, RELEASE, [keys.lock(cluster, "engine")], [token]);
    },
    async load(cluster: string): Promise<Loaded> {
      // Two round trips at once: the cluster's keys share a slot; the global settings have their own.
      const [replies, global] = await Promise.all([
        redis
          .pipeline()
          .get(keys.engineState(cluster))
          .hgetall(keys.settings(cluster))
          .hgetall(keys.pins(cluster))
          .exec(),
        redis.hgetall(keys.globalSettings()),
      ]);
      if (!replies) throw new Error("pipeline aborted");
      for (const [err] of replies) if (err) throw err;
      const [stateJson, settings, pins] = replies.map(([, v]) => v) as [
        string | null,
        Record<string, string>,
        Record<string, string>,
      ];
      const { settings: operator, badPins } = parseOperatorSettings(settings ?? {}, global ?? {}, pins ?? {});
      return { state: parseEngineState(stateJson), operator, badPins };
    },
    /** Writes state + new decisions atomically, fenced by the lock token; returns the decisions added. */
    async commit(
      cluster: string,
      token: string,
      state: EngineState,
      decisions: readonly Decision[],
    ): Promise<Result<Decision[]>> {
      try {
        const k = [keys.lock(cluster, "engine"), keys.engineState(cluster), keys.decisions(cluster)];
        for (const d of decisions) k.push(keys.decisionSeen(cluster, d.id));
        const args = [token, JSON.stringify(state), seenTtlMs, maxLen, ...decisions.map((d) => JSON.stringify(d))];
        const res = await runScript(r, COMMIT, k, args);
        if (res === -1)
          return { ok: false, retryable: true, error: `lost the engine lock of ${cluster} before the commit` };
        const added = (res as number[]).map((i) => decisions[i - 1]).filter((d): d is Decision => d !== undefined);
        if (added.length > 0) await redis.publish(channels.decisions(), cluster);
        return { ok: true, value: added };
      } catch (err) {
        return { ok: false, retryable: true, error: `commit of ${cluster}: ${errorMessage(err)}` };
      }
    },
  };
}

export type EngineStore = ReturnType<typeof createEngineStore>;
