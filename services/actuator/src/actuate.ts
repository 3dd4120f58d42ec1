/**
 * One actuation of a cluster (issue #11): under the cluster's actuator lock, read the decisions
 * after the cursor, fold them into the desired override, and commit in one Lua script the new
 * signed version (when something changed), the moved cursor and the decision events for the
 * outbox; then announce the version on the cluster's config channel.
 */

import { contextOf, inSpan, linkTo, signSnapshot, withLock } from "@meshtune/adapters";
import {
  type ClusterOverride,
  type ClusterSnapshot,
  CONFIG_API_VERSION,
  type Decision,
  DecisionSchema,
  toDecisionEvent,
} from "@meshtune/contracts";
import { type ActuatorContext, baseOverride } from "./context.js";
import { foldDecisions } from "./fold.js";

/** Decisions read per round; a cluster with more is folded over several rounds. */
const BATCH = 500;
const MAX_ROUNDS = 20;
const LOCK_TTL_MS = 15_000;

export interface ActuationResult {
  /** The version published in this call, if any. */
  published?: number;
  decisions: number;
  locked: boolean;
}

/** Reads the decisions after `cursor` (exclusive), oldest first. */
async function readDecisions(ctx: ActuatorContext, cluster: string, cursor: string | undefined) {
  const entries = await ctx.redis.xrange(ctx.keys.decisions(cluster), cursor ? `(${cursor}` : "-", "+", "COUNT", BATCH);
  const decisions: Decision[] = [];
  for (const [id, fields] of entries) {
    const i = fields.indexOf("d");
    let parsed: ReturnType<typeof DecisionSchema.safeParse> | undefined;
    try {
      parsed = i >= 0 ? DecisionSchema.safeParse(JSON.parse(fields[i + 1] ?? "")) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed?.success && parsed.data.cluster === cluster) decisions.push(parsed.data);
    else {
      ctx.logger.error(
        { cluster, entry: id },
        "skipping a decision stream entry that is not a Decision of this cluster",
      );
      ctx.metrics.decisions.inc({ cluster, outcome: "invalid" });
    }
  }
  return { decisions, last: entries.at(-1)?.[0], full: entries.length === BATCH };
}

export interface PublishInput {
  cluster: string;
  baseVersion: number;
  override: ClusterOverride;
  rollbackOf?: number;
  cursor?: string;
  /** CloudEvents to append in the same commit. */
  events: (version: number | undefined) => unknown[];
  cause: "decisions" | "rollback";
}

/** Convergence records kept per cluster: the snapshot store's default history (50 versions). */
export const CONVERGENCE_KEPT = 50;

/** Commits (and announces) a new version built on `baseVersion`; undefined on a conflict. */
export async function publishVersion(ctx: ActuatorContext, input: PublishInput): Promise<number | undefined> {
  const version = input.baseVersion + 1;
  const snapshot: ClusterSnapshot = {
    apiVersion: CONFIG_API_VERSION,
    kind: "ClusterSnapshot",
    cluster: input.cluster,
    version,
    issuedAt: ctx.now(),
    ...(input.rollbackOf !== undefined ? { rollbackOf: input.rollbackOf } : {}),
    override: input.override,
  };
  const r = await ctx.store.commit(input.cluster, {
    baseVersion: input.baseVersion,
    snapshot: signSnapshot(snapshot, ctx.signingKey),
    cursor: input.cursor,
    events: input.events(version),
  });
  if (!r.ok) throw new Error(r.error);
  if (r.value.status === "conflict") return undefined;
  await ctx.redis.publish(ctx.channels.config(input.cluster), String(version));
  ctx.traces?.published(input.cluster, version);
  // One convergence hash per version, written by every proxy's ACK, was never removed: Redis
  // grew by a hash per version forever (issue #14, bounded-state audit). Keep as many as the
  // snapshot history does (rollback looks no further back).
  if (version > CONVERGENCE_KEPT) await ctx.redis.del(ctx.keys.convergence(input.cluster, version - CONVERGENCE_KEPT));
  ctx.metrics.versions.inc({ cluster: input.cluster, cause: input.cause });
  ctx.metrics.currentVersion.set({ cluster: input.cluster }, version);
  ctx.metrics.converged.set({ cluster: input.cluster }, 0);
  ctx.logger.info(
    { cluster: input.cluster, version, cause: input.cause, rollbackOf: input.rollbackOf },
    "published version",
  );
  return version;
}

async function round(
  ctx: ActuatorContext,
  cluster: string,
): Promise<{ published?: number; decisions: number; more: boolean }> {
  const cur = await ctx.store.current(cluster);
  if (!cur.ok) throw new Error(cur.error);
  const { version, raw, cursor } = cur.value;
  const { decisions, last, full } = await readDecisions(ctx, cluster, cursor);
  if (!last) return { decisions: 0, more: false };
  // The decisions' trace continues here: the first traced decision's rule span is the parent,
  // the others are links (a fold can join several evaluations).
  const traced = decisions.flatMap((d) => (d.traceparent ? [d.traceparent] : []));
  const span = {
    parent: contextOf(traced[0]),
    links: traced.slice(1).flatMap(linkTo),
    attributes: {
      "meshtune.cluster": cluster,
      "meshtune.decisions": decisions.length,
      "meshtune.base_version": version,
    },
  };
  return inSpan("meshtune.actuator.publish", span, async (s) => {
    const r = await foldAndPublish(ctx, { cluster, version, raw, last, full, decisions });
    if (r.published !== undefined) s.setAttribute("meshtune.config_version", r.published);
    return r;
  });
}

interface RoundInput {
  cluster: string;
  version: number;
  raw: string | undefined;
  last: string;
  full: boolean;
  decisions: Decision[];
}

async function foldAndPublish(
  ctx: ActuatorContext,
  { cluster, version, raw, last, full, decisions }: RoundInput,
): Promise<{ published?: number; decisions: number; more: boolean }> {
  const base = await baseOverride(ctx, cluster, version, raw);
  const fold = foldDecisions(base, decisions);
  for (const o of fold.outcomes) ctx.metrics.decisions.inc({ cluster, outcome: o.outcome });
  // Every decision is published, applied or not; an applied one names the version carrying it.
  const events = (v: number | undefined) =>
    decisions.map((d) => {
      const applied = fold.outcomes.find((o) => o.id === d.id)?.outcome === "applied";
      return toDecisionEvent(applied && v !== undefined ? { ...d, configVersion: v } : d, ctx.settings.source);
    });
  if (!fold.changed) {
    const r = await ctx.store.commit(cluster, { baseVersion: version, cursor: last, events: events(undefined) });
    if (!r.ok) throw new Error(r.error);
    return { decisions: decisions.length, more: full && r.value.status === "committed" };
  }
  const published = await publishVersion(ctx, {
    cluster,
    baseVersion: version,
    override: fold.override,
    cursor: last,
    events,
    cause: "decisions",
  });
  return { published, decisions: decisions.length, more: full && published !== undefined };
}

/** Folds every pending decision of the cluster; returns at once when another process holds the lock. */
export async function actuateCluster(ctx: ActuatorContext, cluster: string): Promise<ActuationResult> {
  const run = await withLock(ctx.redis, ctx.keys.lock(cluster, "actuator"), LOCK_TTL_MS, async () => {
    let published: number | undefined;
    let decisions = 0;
    for (let i = 0; i < MAX_ROUNDS; i++) {
      const r = await round(ctx, cluster);
      published = r.published ?? published;
      decisions += r.decisions;
      if (!r.more) break;
    }
    return { published, decisions };
  });
  return run.locked ? { ...run.value, locked: true } : { decisions: 0, locked: false };
}

/** Decisions written after the cursor (not folded yet), oldest first, at most `limit`. */
export async function pendingDecisions(ctx: ActuatorContext, cluster: string, limit = 100): Promise<Decision[]> {
  const cursor = (await ctx.redis.get(ctx.keys.actuatorCursor(cluster))) ?? undefined;
  const entries = await ctx.redis.xrange(ctx.keys.decisions(cluster), cursor ? `(${cursor}` : "-", "+", "COUNT", limit);
  return entries.flatMap(([, f]) => {
    const i = f.indexOf("d");
    try {
      const p = DecisionSchema.safeParse(JSON.parse(f[i + 1] ?? ""));
      return p.success ? [p.data] : [];
    } catch {
      return [];
    }
  });
}
