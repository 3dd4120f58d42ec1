/**
 * What every part of the actuator receives (one context object instead of many parameters):
 * Redis, the snapshot store and outbox, the signing key, metrics, settings and the clock.
 */

import {
  type Logger,
  type OutboxRelay,
  type Redis,
  type SigningKey,
  type SnapshotStore,
  verifySnapshot,
} from "@meshtune/adapters";
import { type ClusterOverride, type ClusterSnapshot, redisChannels, redisKeys } from "@meshtune/contracts";
import { emptyOverride } from "./fold.js";
import type { ActuatorMetrics } from "./metrics.js";
import type { PublishTraces } from "./traces.js";

export interface ActuatorSettings {
  /** Share of known proxies whose NACK rolls the version back, in (0, 1] (default 0.5). */
  nackThreshold: number;
  /** A proxy not heard from for this long no longer counts as known (default 30 s). */
  proxyStaleMs: number;
  /** How often every cluster is scanned for missed decisions, ACKs and waiting events (default 1 s). */
  scanIntervalMs: number;
  /** CloudEvent `source` of the events the actuator publishes. */
  source: string;
}

export const DEFAULT_SETTINGS: ActuatorSettings = {
  nackThreshold: 0.5,
  proxyStaleMs: 30_000,
  scanIntervalMs: 1_000,
  source: "meshtune/actuator",
};

export interface ActuatorContext {
  redis: Redis;
  keys: ReturnType<typeof redisKeys>;
  channels: ReturnType<typeof redisChannels>;
  store: SnapshotStore;
  relay: OutboxRelay;
  /** Signs every snapshot; undefined: unsigned (proxies without a key accept them). */
  signingKey: SigningKey | undefined;
  /** Keys the actuator trusts when it reads stored snapshots back (its own ring). */
  verifyKeys: readonly SigningKey[];
  metrics: ActuatorMetrics;
  settings: ActuatorSettings;
  logger: Logger;
  /** Unix ms. */
  now(): number;
  /** Publish spans remembered for the ACK spans (absent: no ACK spans). */
  traces?: PublishTraces;
}

export function contextKeys(prefix?: string) {
  return { keys: redisKeys(prefix), channels: redisChannels(prefix) };
}

/**
 * A stored snapshot as the actuator trusts it: verified with its own keys (so a snapshot
 * forged into Redis never becomes the base of a signed version), parsed. Undefined when absent.
 */
export function trustedSnapshot(
  ctx: Pick<ActuatorContext, "verifyKeys" | "logger">,
  cluster: string,
  raw: string | undefined,
): ClusterSnapshot | undefined {
  if (!raw) return undefined;
  const v = verifySnapshot(raw, { keys: ctx.verifyKeys, cluster });
  if (v.ok) return v.snapshot;
  ctx.logger.error({ cluster, refusal: v.kind, reason: v.reason }, "stored snapshot does not verify; ignoring it");
  return undefined;
}

/** The override of the newest trusted version at or below `version` (current, else history). */
export async function baseOverride(
  ctx: ActuatorContext,
  cluster: string,
  version: number,
  raw: string | undefined,
): Promise<ClusterOverride> {
  const cur = trustedSnapshot(ctx, cluster, raw);
  if (cur && cur.version === version) return cur.override;
  const hist = await ctx.store.version(cluster, version);
  const fromHistory = hist.ok ? trustedSnapshot(ctx, cluster, hist.value) : undefined;
  return fromHistory?.override ?? emptyOverride();
}
