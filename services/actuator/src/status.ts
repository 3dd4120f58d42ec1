/**
 * What `meshtune status` prints and the admin API serves, per cluster: the current version,
 * its convergence, the ejected endpoints, the last decisions, pins and settings. Read-only.
 */

import {
  createOutboxRelay,
  createSnapshotStore,
  type EventPublisher,
  type Redis,
  type SigningKey,
  silentLogger,
} from "@meshtune/adapters";
import {
  type ClusterOverride,
  DEFAULT_PREFIX,
  type Decision,
  DecisionSchema,
  type EndpointPin,
  EndpointPinSchema,
} from "@meshtune/contracts";
import { pendingDecisions } from "./actuate.js";
import { type ActuatorContext, contextKeys, DEFAULT_SETTINGS, trustedSnapshot } from "./context.js";
import { readConvergence } from "./converge.js";
import type { ConvergenceView } from "./convergence.js";
import { createActuatorMetrics } from "./metrics.js";

export interface ClusterStatus {
  cluster: string;
  version: number;
  issuedAt?: number;
  rollbackOf?: number;
  convergence?: Omit<ConvergenceView, "rollback">;
  ejected: Array<{ endpoint: string; reason?: string }>;
  override?: ClusterOverride;
  lastDecisions: Decision[];
  pendingDecisions: number;
  outboxDepth: number;
  pins: Record<string, EndpointPin>;
  settings: Record<string, string>;
}

export interface ReadStatusOptions {
  prefix?: string;
  /** Only these clusters (default: every cluster in the clusters set). */
  clusters?: string[];
  /** Decisions listed per cluster (default 5). */
  lastDecisions?: number;
  /** Keys to verify stored snapshots with (default: none, payloads are read as they are). */
  verifyKeys?: readonly SigningKey[];
  proxyStaleMs?: number;
  nackThreshold?: number;
  now?: () => number;
}

const noPublisher: EventPublisher = {
  topic: "",
  send: async () => ({ ok: false, retryable: false, error: "read-only" }),
  close: async () => {},
};

/** A read-only context over a Redis client (the CLI's `status` has no Kafka and no key). */
export function readOnlyContext(redis: Redis, opts: ReadStatusOptions = {}): ActuatorContext {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  return {
    redis,
    ...contextKeys(prefix),
    store: createSnapshotStore({ redis, prefix }),
    relay: createOutboxRelay({ redis, prefix, publisher: noPublisher, logger: silentLogger() }),
    signingKey: undefined,
    verifyKeys: opts.verifyKeys ?? [],
    metrics: createActuatorMetrics(),
    settings: {
      ...DEFAULT_SETTINGS,
      proxyStaleMs: opts.proxyStaleMs ?? DEFAULT_SETTINGS.proxyStaleMs,
      nackThreshold: opts.nackThreshold ?? DEFAULT_SETTINGS.nackThreshold,
    },
    logger: silentLogger(),
    now: opts.now ?? Date.now,
  };
}

export async function clusterStatus(ctx: ActuatorContext, cluster: string, lastN = 5): Promise<ClusterStatus> {
  const [cur, recent, pending, outbox, pinsHash, settings] = await Promise.all([
    ctx.store.current(cluster),
    ctx.redis.xrevrange(ctx.keys.decisions(cluster), "+", "-", "COUNT", lastN),
    pendingDecisions(ctx, cluster, 1_000),
    ctx.redis.xlen(ctx.keys.outbox(cluster)),
    ctx.redis.hgetall(ctx.keys.pins(cluster)),
    ctx.redis.hgetall(ctx.keys.settings(cluster)),
  ]);
  if (!cur.ok) throw new Error(cur.error);
  const snap = trustedSnapshot(ctx, cluster, cur.value.raw);
  const conv = cur.value.version > 0 ? await readConvergence(ctx, cluster, cur.value.version) : undefined;
  const pins: Record<string, EndpointPin> = {};
  for (const [ep, json] of Object.entries(pinsHash)) {
    try {
      const p = EndpointPinSchema.safeParse(JSON.parse(json));
      if (p.success) pins[ep] = p.data;
    } catch {
      // an unreadable pin is shown by the engine's own checks
    }
  }
  const lastDecisions = recent.flatMap(([, f]) => {
    try {
      const p = DecisionSchema.safeParse(JSON.parse(f[f.indexOf("d") + 1] ?? ""));
      return p.success ? [p.data] : [];
    } catch {
      return [];
    }
  });
  const { rollback: _r, meta: _m, ...convergence } = conv ?? ({} as NonNullable<typeof conv>);
  return {
    cluster,
    version: cur.value.version,
    issuedAt: snap?.issuedAt,
    rollbackOf: snap?.rollbackOf,
    convergence: conv ? convergence : undefined,
    ejected: Object.entries(snap?.override.endpointOverrides ?? {})
      .filter(([, o]) => o.ejected)
      .map(([endpoint, o]) => ({ endpoint, reason: o.ejectReason })),
    override: snap?.override,
    lastDecisions,
    pendingDecisions: pending.length,
    outboxDepth: outbox,
    pins,
    settings,
  };
}

/** Every known cluster's status (the clusters set, or `opts.clusters`), sorted by name. */
export async function readStatus(redis: Redis, opts: ReadStatusOptions = {}): Promise<ClusterStatus[]> {
  const ctx = readOnlyContext(redis, opts);
  const clusters = opts.clusters ?? (await redis.smembers(ctx.keys.clusters())).sort();
  return Promise.all(clusters.map((c) => clusterStatus(ctx, c, opts.lastDecisions ?? 5)));
}
