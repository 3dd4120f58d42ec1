/**
 * Lua scripts through EVALSHA with a fallback to EVAL when Redis does not know the script
 * yet (after a restart or SCRIPT FLUSH), and a short lock per cluster: SET NX PX to take it,
 * compare-and-delete to release it, so one process never releases another's lock (the
 * pattern of the Redis docs on SET; BullMQ does the same for job locks).
 */
import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

export async function runScript(
  redis: Redis,
  s: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes("NOSCRIPT")) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  }
}

const RELEASE = script(`
-- KEYS[1] lock key; ARGV[1] owner token. Deletes the lock only when this owner still holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/**
 * Runs `fn` while holding the lock; resolves `{ locked: false }` at once when another owner
 * holds it (the caller tries again later). The TTL bounds how long a crashed holder blocks.
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  ttlMs: number,
  fn: () => Promise<T>,
): Promise<{ locked: true; value: T } | { locked: false }> {
  const token = randomUUID();
  const got = await redis.set(key, token, "PX", ttlMs, "NX");
  if (got !== "OK") return { locked: false };
  try {
    return { locked: true, value: await fn() };
  } finally {
    await runScript(redis, RELEASE, [key], [token]).catch(() => {});
  }
}
