/**
 * The proxy's config client (issue #11): per cluster it serves, it follows the actuator's
 * signed, versioned snapshots in Redis and applies newer ones through the data plane.
 *
 * - Reads the stored snapshot first on start and on every reconnect (a late joiner or a proxy
 *   that missed messages converges), then on every `config(cluster)` message, and every
 *   `checkIntervalMs` (pub/sub is fire-and-forget: a dropped message is caught by the check).
 * - Applies only versions newer than the last one applied for that cluster; with a key it
 *   refuses unsigned, wrongly signed and other-cluster snapshots and counts them.
 * - Answers ACK or NACK (ConfigAck) on the cluster's acks channel and in its acks hash; on NACK
 *   the data plane keeps the last good state (applyControl validates before it changes anything).
 * - While Redis is down the proxy keeps serving; ioredis reconnects with backoff forever.
 *
 * applyControl takes one version across all clusters; this client calls it with its own
 * increasing counter and one cluster at a time (clusters not named keep their state), and keeps
 * each cluster's snapshot version itself.
 */

import {
  createRedis,
  createRedisPubSub,
  type Logger,
  type PubSub,
  type Redis,
  type RefusalKind,
  type SigningKey,
  type Unsubscribe,
  verifySnapshot,
} from "@meshtune/adapters";
import {
  type ApplyResult,
  type ClusterOverride,
  CONFIG_API_VERSION,
  type ConfigAck,
  redisChannels,
  redisKeys,
} from "@meshtune/contracts";

/** Largest stored snapshot a proxy reads: ~10,000 pushed endpoints with overrides fit in 4 MiB. */
export const MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024;

export interface ControlTarget {
  /** Cluster names the proxy serves now (re-read on every check: a reload can add some). */
  clusters(): string[];
  applyControl(input: unknown): ApplyResult;
}

export interface ControlClientOptions {
  redisUrl: string;
  prefix?: string;
  proxyId: string;
  /** Empty: unsigned snapshots are accepted (a warning is logged once at start). */
  keys: readonly SigningKey[];
  /** Periodic version check (default 5000 ms). */
  checkIntervalMs?: number;
  logger: Logger;
  /** Every snapshot refused, once per stored snapshot (telemetry counts them). */
  onRefused?: (kind: RefusalKind) => void;
  /** Every answer the client sent (tests, telemetry). */
  onAnswer?: (ack: ConfigAck) => void;
  /** Longest wait for the first snapshot read at start (default 3000 ms). */
  startWaitMs?: number;
  now?: () => number;
}

export interface ClusterControlState {
  /** Last snapshot version applied (0: none yet). */
  version: number;
  /** Last version NACKed, so it is not re-applied and re-NACKed on every check. */
  nackedVersion?: number;
  lastError?: string;
}

export interface ControlClient {
  state(): Record<string, ClusterControlState>;
  /** Snapshots refused by kind (unsigned, bad_signature, wrong_cluster, ...). */
  refusals(): Partial<Record<RefusalKind, number>>;
  /** Reads and applies every served cluster's stored snapshot now. */
  checkNow(): Promise<void>;
  /**
   * Applies every served cluster's current snapshot again, even when its version is not newer:
   * after a config file reload, which puts the file's pool limits back in place.
   */
  resync(): Promise<void>;
  close(): Promise<void>;
}

export async function startControlClient(target: ControlTarget, opts: ControlClientOptions): Promise<ControlClient> {
  const keys = redisKeys(opts.prefix);
  const channels = redisChannels(opts.prefix);
  const logger = opts.logger;
  const log = (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}) =>
    logger[level](fields, msg);
  const now = opts.now ?? Date.now;
  // Reconnect at most 1 s apart (plus jitter, so a fleet does not reconnect in step): with the
  // shared 2 s cap a proxy could learn of Redis' return 2 s late, past the 2 s resync goal of
  // issue #14 on its own (test/faults-redis.test.ts, a 20 s outage).
  const redis: Redis = createRedis(opts.redisUrl, {
    name: `meshtune-proxy-control-${opts.proxyId}`,
    ioredis: { retryStrategy: (times: number) => Math.min(times * 100, 1_000) + Math.floor(Math.random() * 100) },
  });
  redis.on("error", () => {}); // logged once per outage below, not per retry
  const pubsub: PubSub = createRedisPubSub({ connection: redis, prefix: opts.prefix, logger });
  const states = new Map<string, ClusterControlState>();
  const refusals: Partial<Record<RefusalKind, number>> = {};
  const lastRefused = new Map<string, string>();
  const subscriptions = new Map<string, Unsubscribe>();
  const chains = new Map<string, Promise<void>>();
  let localVersion = 0;
  let closed = false;
  let down = false;
  if (opts.keys.length === 0) log("warn", "control key not set: unsigned snapshots are accepted");

  async function answer(cluster: string, version: number, r: ApplyResult): Promise<void> {
    const ack: ConfigAck = {
      cluster,
      proxyId: opts.proxyId,
      version,
      status: r.status,
      ...(r.status === "NACK" ? { reason: r.reason } : {}),
      at: now(),
    };
    const json = JSON.stringify(ack);
    await redis
      .multi()
      .hset(keys.acks(cluster), opts.proxyId, json)
      .hset(keys.convergence(cluster, version), opts.proxyId, json)
      .exec();
    await redis.publish(channels.acks(cluster), json);
    opts.onAnswer?.(ack);
  }

  async function check(cluster: string): Promise<void> {
    const st = states.get(cluster) ?? { version: 0 };
    states.set(cluster, st);
    // A Redis writer without the key must not be able to exhaust every proxy's memory with one
    // huge value: its size is checked before it is read (issue #14).
    const size = await redis.strlen(keys.snapshot(cluster));
    const raw = size > MAX_SNAPSHOT_BYTES ? `oversized:${size}` : await redis.get(keys.snapshot(cluster));
    if (raw === null) return;
    const v: ReturnType<typeof verifySnapshot> =
      size > MAX_SNAPSHOT_BYTES
        ? {
            ok: false,
            kind: "malformed",
            reason: `snapshot of ${size} bytes is over the ${MAX_SNAPSHOT_BYTES}-byte limit`,
          }
        : verifySnapshot(raw, { keys: opts.keys, cluster });
    if (!v.ok) {
      if (lastRefused.get(cluster) !== raw) {
        lastRefused.set(cluster, raw);
        refusals[v.kind] = (refusals[v.kind] ?? 0) + 1;
        opts.onRefused?.(v.kind);
        log("error", "refused a control snapshot", { cluster, refusal: v.kind, reason: v.reason });
      }
      return;
    }
    const snap = v.snapshot;
    if (snap.version <= st.version || snap.version === st.nackedVersion) return;
    let r: ApplyResult;
    try {
      r = target.applyControl({
        apiVersion: CONFIG_API_VERSION,
        kind: "ControlSnapshot",
        version: ++localVersion,
        clusters: { [cluster]: snap.override satisfies ClusterOverride },
      });
    } catch (err) {
      r = { status: "NACK", version: localVersion, reason: (err as Error).message };
    }
    if (r.status === "ACK") {
      st.version = snap.version;
      st.nackedVersion = undefined;
      log("info", "control snapshot applied", { cluster, version: snap.version, rollbackOf: snap.rollbackOf });
    } else {
      st.nackedVersion = snap.version;
      log("warn", "control snapshot refused; keeping the last good one", {
        cluster,
        version: snap.version,
        reason: r.reason,
      });
    }
    await answer(cluster, snap.version, r);
  }

  /** One check per cluster at a time; a check asked for while one runs runs after it. */
  function schedule(cluster: string): Promise<void> {
    const next = (chains.get(cluster) ?? Promise.resolve())
      .then(() => (closed ? undefined : check(cluster)))
      .catch((err: Error) => {
        const st = states.get(cluster);
        if (st) st.lastError = err.message;
      });
    chains.set(cluster, next);
    return next;
  }

  async function follow(): Promise<void> {
    const served = target.clusters();
    for (const c of served) {
      if (subscriptions.has(c)) continue;
      try {
        subscriptions.set(c, await pubsub.subscribe(channels.config(c), () => void schedule(c)));
      } catch (err) {
        log("warn", "subscribe failed; the periodic check covers it", { cluster: c, err: (err as Error).message });
      }
    }
    const t = now();
    await Promise.all(
      served.map(async (c) => {
        await redis.zadd(keys.proxies(c), t, opts.proxyId).catch(() => {});
        await schedule(c);
      }),
    );
  }

  // ioredis emits `ready` after every reconnect: read the stored snapshots first.
  let started = false;
  redis.on("ready", () => {
    if (down) log("info", "redis reachable again; re-reading control snapshots");
    down = false;
    if (started) void follow();
  });
  redis.on("close", () => {
    if (!down && !closed) log("warn", "redis unreachable; serving with the last good control state");
    down = true;
  });
  const timer = setInterval(() => void follow(), opts.checkIntervalMs ?? 5_000);
  timer.unref();
  // Start waits for the first read at most `startWaitMs`: without Redis the proxy serves on
  // its file config and catches up on reconnect or at the next check.
  let wait: NodeJS.Timeout | undefined;
  await Promise.race([
    follow().catch(() => {}),
    new Promise<void>((resolve) => {
      wait = setTimeout(resolve, opts.startWaitMs ?? 3_000);
    }),
  ]);
  clearTimeout(wait);
  started = true;

  return {
    state: () => Object.fromEntries([...states].map(([c, s]) => [c, { ...s }])),
    refusals: () => ({ ...refusals }),
    checkNow: () => follow(),
    resync() {
      for (const st of states.values()) {
        st.version = 0;
        st.nackedVersion = undefined;
      }
      return follow();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await Promise.all([...chains.values()]);
      await pubsub.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
