/**
 * Versioned control snapshots of a cluster in Redis (issue #11): the current signed snapshot,
 * its version counter, a bounded history by version (for rollback), the actuator's cursor in
 * the decision stream and the cluster's event outbox — all under the cluster's hash tag, so
 * one Lua script commits them together (a crash never leaves a version without its events, or
 * a moved cursor without its snapshot).
 */
import { redisKeys, type SignedSnapshot, SignedSnapshotSchema } from "@meshtune/contracts";
import type { Redis } from "ioredis";
import { runScript, script } from "./lua.js";
import { errorMessage, type Result } from "./result.js";

/** Field of an outbox stream entry that holds the CloudEvent JSON. */
export const OUTBOX_FIELD = "e";

const COMMIT = script(`
-- KEYS[1] snapshot-version  KEYS[2] snapshot  KEYS[3] snapshot-history  KEYS[4] actuator-cursor
-- KEYS[5] outbox
-- ARGV[1] version the caller built on (compare-and-set: another writer wins, caller re-reads)
-- ARGV[2] signed snapshot JSON for version ARGV[1]+1, or "" (no new version)
-- ARGV[3] new cursor, or ""    ARGV[4] history versions kept    ARGV[5] outbox MAXLEN (~)
-- ARGV[6..] event JSON appended to the outbox in order
-- Returns {1, version} when committed, {0, current version} on a conflict.
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then return {0, cur} end
local v = cur
if ARGV[2] ~= '' then
  v = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[3], tostring(v), ARGV[2])
  local old = v - tonumber(ARGV[4])
  if old > 0 then redis.call('HDEL', KEYS[3], tostring(old)) end
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3]) end
for i = 6, #ARGV do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', '${OUTBOX_FIELD}', ARGV[i])
end
return {1, v}`);

export interface SnapshotStoreOptions {
  redis: Redis;
  prefix?: string;
  /** Versions kept in the history hash (default 50). */
  historyLimit?: number;
  /** Outbox bound per cluster (default 100,000 events; MAXLEN ~, oldest trimmed first). */
  outboxMaxLen?: number;
}

export interface CommitInput {
  /** The version the new state was built on (0 when the cluster has none yet). */
  baseVersion: number;
  /** The signed snapshot of version baseVersion + 1; absent when nothing changed. */
  snapshot?: SignedSnapshot;
  /** Stream id of the last decision folded in. */
  cursor?: string;
  /** CloudEvents (objects) appended to the outbox, in order. */
  events?: readonly unknown[];
}

export type CommitResult = { status: "committed"; version: number } | { status: "conflict"; version: number };

export interface CurrentSnapshot {
  version: number;
  /** The stored envelope as text (what a proxy verifies), absent before the first version. */
  raw?: string;
  cursor?: string;
}

export interface SnapshotStore {
  current(cluster: string): Promise<Result<CurrentSnapshot>>;
  /** A stored version's envelope text (current or from the history). */
  version(cluster: string, version: number): Promise<Result<string | undefined>>;
  /** Versions in the history, ascending. */
  versions(cluster: string): Promise<Result<number[]>>;
  commit(cluster: string, input: CommitInput): Promise<Result<CommitResult>>;
}

export function createSnapshotStore(opts: SnapshotStoreOptions): SnapshotStore {
  const keys = redisKeys(opts.prefix);
  const { redis } = opts;
  const historyLimit = opts.historyLimit ?? 50;
  const outboxMaxLen = opts.outboxMaxLen ?? 100_000;
  const fail = (what: string, err: unknown) => ({
    ok: false as const,
    retryable: true,
    error: `${what}: ${errorMessage(err)}`,
  });
  return {
    async current(cluster) {
      try {
        const [v, raw, cursor] = await redis.mget(
          keys.snapshotVersion(cluster),
          keys.snapshot(cluster),
          keys.actuatorCursor(cluster),
        );
        return { ok: true, value: { version: Number(v ?? 0), raw: raw ?? undefined, cursor: cursor ?? undefined } };
      } catch (err) {
        return fail(`read snapshot of ${cluster}`, err);
      }
    },
    async version(cluster, version) {
      try {
        return { ok: true, value: (await redis.hget(keys.snapshotHistory(cluster), String(version))) ?? undefined };
      } catch (err) {
        return fail(`read version ${version} of ${cluster}`, err);
      }
    },
    async versions(cluster) {
      try {
        const fields = await redis.hkeys(keys.snapshotHistory(cluster));
        return { ok: true, value: fields.map(Number).sort((a, b) => a - b) };
      } catch (err) {
        return fail(`list versions of ${cluster}`, err);
      }
    },
    async commit(cluster, input) {
      if (input.snapshot && !SignedSnapshotSchema.safeParse(input.snapshot).success) {
        return { ok: false, retryable: false, error: "commit: not a SignedSnapshot" };
      }
      try {
        const reply = (await runScript(
          redis,
          COMMIT,
          [
            keys.snapshotVersion(cluster),
            keys.snapshot(cluster),
            keys.snapshotHistory(cluster),
            keys.actuatorCursor(cluster),
            keys.outbox(cluster),
          ],
          [
            input.baseVersion,
            input.snapshot ? JSON.stringify(input.snapshot) : "",
            input.cursor ?? "",
            historyLimit,
            outboxMaxLen,
            ...(input.events ?? []).map((e) => JSON.stringify(e)),
          ],
        )) as [number, number];
        const version = Number(reply[1]);
        return { ok: true, value: reply[0] === 1 ? { status: "committed", version } : { status: "conflict", version } };
      } catch (err) {
        return fail(`commit snapshot of ${cluster}`, err);
      }
    },
  };
}
