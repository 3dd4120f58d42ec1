/**
 * Convergence tracking and rollback (issue #11). The per-version record lives in Redis
 * (`convergence(cluster, version)`: proxyId -> ConfigAck, written by the proxies, plus `_meta`
 * written here), so any actuator replica can judge it and a restart loses nothing. A version
 * converges once; the `_converged` field, set with HSETNX, makes exactly one replica emit the
 * event and observe the histogram. When NACKs pass the threshold the cluster is rolled back to
 * the previous version's override as a new version (`rollbackOf`), and the event says so.
 */

import { withLock } from "@meshtune/adapters";
import {
  CONFIG_CONVERGED_EVENT_TYPE,
  CONFIG_ROLLED_BACK_EVENT_TYPE,
  type ConfigAck,
  ConfigAckSchema,
  type ConfigConvergedEvent,
  type ConfigRolledBackEvent,
} from "@meshtune/contracts";
import { publishVersion } from "./actuate.js";
import { type ActuatorContext, baseOverride, trustedSnapshot } from "./context.js";
import { assessConvergence, type ConvergenceView } from "./convergence.js";

const META = "_meta";
const CONVERGED = "_converged";

export interface VersionMeta {
  issuedAt: number;
  rollbackOf?: number;
  convergedAt?: number;
  convergeMs?: number;
  rolledBackBy?: number;
}

function parseAcks(hash: Record<string, string>): Record<string, ConfigAck> {
  const out: Record<string, ConfigAck> = {};
  for (const [id, json] of Object.entries(hash)) {
    if (id.startsWith("_")) continue;
    try {
      const p = ConfigAckSchema.safeParse(JSON.parse(json));
      if (p.success) out[id] = p.data;
    } catch {
      // not an ack: ignored
    }
  }
  return out;
}

/** The convergence view of one version, read from Redis. */
export async function readConvergence(
  ctx: ActuatorContext,
  cluster: string,
  version: number,
): Promise<(ConvergenceView & { meta: VersionMeta }) | undefined> {
  const [record, lastAcks, reported, hist] = await Promise.all([
    ctx.redis.hgetall(ctx.keys.convergence(cluster, version)),
    ctx.redis.hgetall(ctx.keys.acks(cluster)),
    ctx.redis.zrange(ctx.keys.proxies(cluster), ctx.now() - ctx.settings.proxyStaleMs, "+inf", "BYSCORE", "WITHSCORES"),
    ctx.store.version(cluster, version),
  ]);
  const snap = trustedSnapshot(ctx, cluster, hist.ok ? hist.value : undefined);
  if (!snap) return undefined;
  let meta: VersionMeta = { issuedAt: snap.issuedAt, rollbackOf: snap.rollbackOf };
  if (record[META]) meta = { ...meta, ...(JSON.parse(record[META]) as VersionMeta) };
  const rep: Record<string, number> = {};
  for (let i = 0; i + 1 < reported.length; i += 2) rep[reported[i] as string] = Number(reported[i + 1]);
  const view = assessConvergence({
    version,
    issuedAt: snap.issuedAt,
    answers: parseAcks(record),
    lastAcks: parseAcks(lastAcks),
    reported: rep,
    now: ctx.now(),
    staleMs: ctx.settings.proxyStaleMs,
    nackThreshold: ctx.settings.nackThreshold,
    rolledBack: meta.rolledBackBy !== undefined,
    isRollback: snap.rollbackOf !== undefined,
  });
  if (meta.convergedAt !== undefined && view.state !== "rolled_back") {
    // Once converged, it stays so (a proxy that joins later does not un-converge history).
    return { ...view, state: "converged", convergedAt: meta.convergedAt, convergeMs: meta.convergeMs, meta };
  }
  return { ...view, meta };
}

const envelope = (ctx: ActuatorContext, id: string, cluster: string, at: number) => ({
  specversion: "1.0" as const,
  id,
  source: ctx.settings.source,
  subject: cluster,
  time: new Date(at).toISOString(),
  datacontenttype: "application/json" as const,
});

async function markConverged(ctx: ActuatorContext, cluster: string, view: ConvergenceView, meta: VersionMeta) {
  const key = ctx.keys.convergence(cluster, view.version);
  if ((await ctx.redis.hsetnx(key, CONVERGED, "1")) !== 1) return;
  const convergedAt = view.convergedAt ?? ctx.now();
  const convergeMs = view.convergeMs ?? 0;
  await ctx.redis.hset(key, META, JSON.stringify({ ...meta, convergedAt, convergeMs }));
  const event: ConfigConvergedEvent = {
    ...envelope(ctx, `${cluster}:v${view.version}:converged`, cluster, convergedAt),
    type: CONFIG_CONVERGED_EVENT_TYPE,
    data: { cluster, version: view.version, issuedAt: view.issuedAt, convergedAt, convergeMs, acked: view.acked },
  };
  const r = await ctx.relay.append(cluster, [event]);
  if (!r.ok) ctx.logger.error({ cluster, error: r.error }, "could not queue the converged event");
  ctx.traces?.converged(cluster, view.version, convergeMs);
  ctx.metrics.convergence.observe({ cluster }, convergeMs / 1000);
  ctx.metrics.converged.set({ cluster }, 1);
  ctx.logger.info({ cluster, version: view.version, convergeMs, proxies: view.acked.length }, "version converged");
}

async function rollBack(ctx: ActuatorContext, cluster: string, view: ConvergenceView, meta: VersionMeta) {
  await withLock(ctx.redis, ctx.keys.lock(cluster, "actuator"), 15_000, async () => {
    const cur = await ctx.store.current(cluster);
    if (!cur.ok || cur.value.version !== view.version) return; // superseded meanwhile
    const restored = view.version - 1;
    const override = await baseOverride(ctx, cluster, restored, undefined);
    const at = ctx.now();
    const published = await publishVersion(ctx, {
      cluster,
      baseVersion: view.version,
      override,
      // Version 1 has no earlier version: its rollback restores the empty override.
      rollbackOf: restored >= 1 ? restored : undefined,
      cause: "rollback",
      events: (v) => {
        const event: ConfigRolledBackEvent = {
          ...envelope(ctx, `${cluster}:v${view.version}:rolledback`, cluster, at),
          type: CONFIG_ROLLED_BACK_EVENT_TYPE,
          data: {
            cluster,
            badVersion: view.version,
            version: v ?? view.version + 1,
            restoredVersion: Math.max(1, restored),
            nacks: view.nacked,
            nackShare: view.nackShare,
            threshold: ctx.settings.nackThreshold,
            at,
          },
        };
        return [event];
      },
    });
    if (published === undefined) return;
    await ctx.redis.hset(
      ctx.keys.convergence(cluster, view.version),
      META,
      JSON.stringify({ ...meta, rolledBackBy: published }),
    );
    ctx.metrics.rollbacks.inc({ cluster });
    ctx.logger.warn(
      { cluster, badVersion: view.version, version: published, restoredVersion: restored, nacks: view.nacked },
      `rolled back: ${view.nacked.length}/${view.known.length} proxies NACKed version ${view.version}`,
    );
  });
}

/** Judges the cluster's current version: marks it converged once, or rolls it back. */
export async function checkConvergence(ctx: ActuatorContext, cluster: string): Promise<ConvergenceView | undefined> {
  const version = Number((await ctx.redis.get(ctx.keys.snapshotVersion(cluster))) ?? 0);
  if (version === 0) return undefined;
  const view = await readConvergence(ctx, cluster, version);
  if (!view) return undefined;
  ctx.metrics.currentVersion.set({ cluster }, version);
  if (view.state === "converged" && view.meta.convergedAt === undefined)
    await markConverged(ctx, cluster, view, view.meta);
  else if (view.rollback) await rollBack(ctx, cluster, view, view.meta);
  ctx.metrics.converged.set({ cluster }, view.state === "converged" ? 1 : 0);
  return view;
}
