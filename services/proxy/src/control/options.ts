/**
 * `meshtune proxy` flags and environment for the config client (issue #11). Without a Redis
 * URL the proxy runs on its file config alone, as before. Light on purpose: the client itself
 * (ioredis and the adapters) lives in start.ts and is loaded only when a Redis URL is given
 * (issue #15: a proxy without a control plane does not carry it in memory).
 */
import { readFileSync } from "node:fs";
import type { SigningKey } from "@meshtune/adapters";
import { parseSigningKeys } from "@meshtune/adapters/signing";
import { DEFAULT_PREFIX } from "@meshtune/contracts";

export const CONTROL_HELP = `      --redis-url URL   Follow the tuner's signed control snapshots in Redis (env MESHTUNE_REDIS_URL;
                        default: none, the proxy runs on its config file alone)
      --redis-prefix P  Redis key prefix shared with the tuner (env MESHTUNE_REDIS_PREFIX; default ${DEFAULT_PREFIX})
      --control-key KEY HMAC-SHA256 key(s) that control snapshots must be signed with: SECRET or
                        ID:SECRET, comma-separated for rotation (env MESHTUNE_CONTROL_KEY); without a
                        key unsigned snapshots are accepted (a warning says so)
      --control-key-file FILE
                        Read the key(s) from FILE instead (keeps the secret out of ps and env)
      --control-check-interval-ms MS
                        Periodic version check behind pub/sub (default 5000)`;

export const CONTROL_OPTIONS = {
  "redis-url": { type: "string" },
  "redis-prefix": { type: "string" },
  "control-key": { type: "string" },
  "control-key-file": { type: "string" },
  "control-check-interval-ms": { type: "string" },
} as const;

export interface ControlSettings {
  redisUrl: string;
  prefix: string;
  keys: SigningKey[];
  checkIntervalMs: number;
}

type Flags = Partial<Record<keyof typeof CONTROL_OPTIONS, string | undefined>>;

/** undefined value: no Redis configured. */
export function resolveControlSettings(
  flags: Flags,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; value: ControlSettings | undefined } | { ok: false; error: string } {
  const redisUrl = flags["redis-url"] ?? env.MESHTUNE_REDIS_URL;
  if (flags["control-key"] && flags["control-key-file"])
    return { ok: false, error: "--control-key and --control-key-file are exclusive" };
  let keySpec = flags["control-key"] ?? env.MESHTUNE_CONTROL_KEY;
  if (flags["control-key-file"]) {
    try {
      keySpec = readFileSync(flags["control-key-file"], "utf8").trim();
    } catch (err) {
      return { ok: false, error: `--control-key-file: ${(err as Error).message}` };
    }
  }
  const interval = Number(flags["control-check-interval-ms"] ?? 5_000);
  if (!Number.isInteger(interval) || interval < 100)
    return { ok: false, error: "--control-check-interval-ms must be an integer >= 100" };
  if (!redisUrl) {
    if (keySpec) return { ok: false, error: "a control key needs --redis-url (or MESHTUNE_REDIS_URL)" };
    return { ok: true, value: undefined };
  }
  const keys = keySpec ? parseSigningKeys(keySpec) : [];
  return {
    ok: true,
    value: {
      redisUrl,
      prefix: flags["redis-prefix"] ?? env.MESHTUNE_REDIS_PREFIX ?? DEFAULT_PREFIX,
      keys,
      checkIntervalMs: interval,
    },
  };
}
