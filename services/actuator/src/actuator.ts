/**
 * The actuator service (issue #11), wiring only: Redis, pub/sub, the outbox relay to Kafka, the
 * admin API and two triggers per cluster — the engine's `decisions` channel (fast path) and a
 * periodic scan of every cluster (catches dropped pub/sub, ACKs and events waiting for Kafka).
 * Work on one cluster runs one at a time in this process; the Redis lock covers replicas.
 */
import type { AddressInfo } from "node:net";
import {
  createEventPublisher,
  createOutboxRelay,
  createRedis,
  createRedisPubSub,
  createSnapshotStore,
  defaultLogger,
  type EventPublisher,
  errorMessage,
  type Logger,
  parseSigningKeys,
  type SigningKey,
} from "@meshtune/adapters";
import { actuateCluster } from "./actuate.js";
import { type AdminServer, startAdmin } from "./admin.js";
import { type ActuatorContext, type ActuatorSettings, contextKeys, DEFAULT_SETTINGS } from "./context.js";
import { checkConvergence } from "./converge.js";
import { type ActuatorMetrics, createActuatorMetrics } from "./metrics.js";

export interface ActuatorOptions {
  redisUrl: string;
  prefix?: string;
  /** Without brokers events wait in the Redis outbox until an actuator with Kafka relays them. */
  kafkaBrokers?: string;
  topic?: string;
  /** Where events go instead of Kafka (e.g. a JSON Lines file); wins over kafkaBrokers. */
  publisher?: EventPublisher;
  /** Signing key(s) (`ID:SECRET`, comma-separated; the first signs). Without: unsigned snapshots. */
  controlKey?: string;
  /** Admin API; false: none. Default 127.0.0.1:15090. */
  admin?: { host?: string; port?: number; token?: string } | false;
  settings?: Partial<ActuatorSettings>;
  logger?: Logger;
  now?: () => number;
}

export interface Actuator {
  readonly adminAddress: AddressInfo | undefined;
  readonly metrics: ActuatorMetrics;
  /** Runs a cluster's actuation, outbox relay and convergence check now (tests, bench). */
  poke(cluster: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_ADMIN_PORT = 15090;

const unavailable: EventPublisher = {
  topic: "",
  send: async () => ({ ok: false, retryable: true, error: "no Kafka brokers configured" }),
  close: async () => {},
};

/** Compares Redis stream ids ("ms-seq"). */
export function streamIdAfter(a: string, b: string | undefined): boolean {
  if (!b) return true;
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am !== bm ? am > bm : as > bs;
}

export async function startActuator(opts: ActuatorOptions): Promise<Actuator> {
  const logger = opts.logger ?? defaultLogger("meshtune-actuator");
  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  const redis = createRedis(opts.redisUrl, { name: "meshtune-actuator" });
  redis.on("error", (err) => logger.warn({ err: errorMessage(err) }, "redis connection error"));
  const pubsub = createRedisPubSub({ connection: redis, prefix: opts.prefix, logger });
  const publisher =
    opts.publisher ??
    (opts.kafkaBrokers
      ? createEventPublisher({ brokers: opts.kafkaBrokers, topic: opts.topic, logger, clientId: "meshtune-actuator" })
      : unavailable);
  const metrics = createActuatorMetrics();
  const keys: SigningKey[] = opts.controlKey ? parseSigningKeys(opts.controlKey) : [];
  if (keys.length === 0) logger.warn("no control key: snapshots are published unsigned");
  const ctx: ActuatorContext = {
    redis,
    ...contextKeys(opts.prefix),
    store: createSnapshotStore({ redis, prefix: opts.prefix }),
    relay: createOutboxRelay({
      redis,
      publisher,
      prefix: opts.prefix,
      logger,
      onDelivered: (_c, records) => {
        for (const r of records) metrics.eventsPublished.inc({ type: r.type });
      },
    }),
    signingKey: keys[0],
    verifyKeys: keys,
    metrics,
    settings,
    logger,
    now: opts.now ?? Date.now,
  };

  let closed = false;

  /** Anything after the cursor? Two reads without the lock, so an idle cluster costs little. */
  async function hasNewDecisions(cluster: string): Promise<boolean> {
    const [last, cursor] = await Promise.all([
      redis.xrevrange(ctx.keys.decisions(cluster), "+", "-", "COUNT", 1),
      redis.get(ctx.keys.actuatorCursor(cluster)),
    ]);
    const id = last[0]?.[0];
    return id !== undefined && streamIdAfter(id, cursor ?? undefined);
  }

  // Three tasks per cluster, each single-flight: actuation never waits behind a Kafka send or a
  // convergence check (both are triggered after it, not awaited by it).
  const relay = singleFlight(
    async (cluster) => {
      const flushed = await ctx.relay.flush(cluster);
      if (!flushed.ok) {
        metrics.kafkaErrors.inc();
        logger.warn({ cluster, error: flushed.error }, "events wait in the outbox");
      }
      const depth = await ctx.relay.depth(cluster);
      if (depth.ok) metrics.outboxDepth.set({ cluster }, depth.value);
    },
    () => closed,
  );
  const converge = singleFlight(
    async (cluster) => {
      try {
        await checkConvergence(ctx, cluster);
      } catch (err) {
        metrics.redisErrors.inc({ op: "convergence" });
        logger.error({ cluster, err: errorMessage(err) }, "convergence check failed");
      }
    },
    () => closed,
  );
  const actuate = singleFlight(
    async (cluster) => {
      try {
        if (!(await hasNewDecisions(cluster))) return;
        await actuateCluster(ctx, cluster);
      } catch (err) {
        metrics.redisErrors.inc({ op: "actuate" });
        logger.error({ cluster, err: errorMessage(err) }, "actuation failed; retried on the next scan");
      }
      void relay.trigger(cluster);
      void converge.trigger(cluster);
    },
    () => closed,
  );
  const tasks = [actuate, relay, converge];

  async function poke(cluster: string): Promise<void> {
    await actuate.trigger(cluster);
    await Promise.all([relay.trigger(cluster), converge.trigger(cluster)]);
  }

  const followed = new Set<string>();
  async function follow(cluster: string): Promise<void> {
    if (followed.has(cluster)) return;
    followed.add(cluster);
    try {
      await pubsub.subscribe(ctx.channels.acks(cluster), (message) => {
        try {
          const ack = JSON.parse(message) as { status?: string };
          metrics.acks.inc({ cluster, status: ack.status === "NACK" ? "NACK" : "ACK" });
        } catch {
          // not an ack; the scan reads the acks hash anyway
        }
        void converge.trigger(cluster);
      });
    } catch (err) {
      followed.delete(cluster);
      logger.warn({ cluster, err: errorMessage(err) }, "subscribe to acks failed; the scan covers it");
    }
  }

  let scanning = false;
  async function scan(): Promise<void> {
    if (scanning || closed) return;
    scanning = true;
    try {
      const clusters = await redis.smembers(ctx.keys.clusters());
      await Promise.all(clusters.map((c) => follow(c)));
      await Promise.all(clusters.map((c) => poke(c)));
    } catch (err) {
      metrics.redisErrors.inc({ op: "scan" });
      logger.warn({ err: errorMessage(err) }, "scan failed");
    } finally {
      scanning = false;
    }
  }

  await pubsub.subscribe(ctx.channels.decisions(), (cluster) => {
    void redis.sadd(ctx.keys.clusters(), cluster).catch(() => {});
    void follow(cluster);
    void actuate.trigger(cluster);
  });
  const timer = setInterval(() => void scan(), settings.scanIntervalMs);
  timer.unref();
  void scan();

  let admin: AdminServer | undefined;
  if (opts.admin !== false) {
    admin = await startAdmin(ctx, {
      host: opts.admin?.host ?? "127.0.0.1",
      port: opts.admin?.port ?? DEFAULT_ADMIN_PORT,
      token: opts.admin?.token,
    });
  }
  logger.info(
    { admin: admin ? `${admin.address.address}:${admin.address.port}` : "off", kafka: Boolean(opts.kafkaBrokers) },
    "actuator started",
  );

  return {
    adminAddress: admin?.address,
    metrics,
    poke,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await Promise.allSettled(tasks.flatMap((t) => t.inFlight()));
      await admin?.close();
      await pubsub.close();
      await publisher.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Runs `fn` for a cluster at most once at a time; a trigger while it runs asks for exactly one
 * more run after it (so nothing that arrived during a run is missed, and bursts coalesce).
 */
function singleFlight(fn: (cluster: string) => Promise<void>, stopped: () => boolean) {
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  return {
    trigger(cluster: string): Promise<void> {
      if (stopped()) return Promise.resolve();
      const cur = running.get(cluster);
      if (cur) {
        again.add(cluster);
        return cur;
      }
      const run = (async () => {
        do {
          again.delete(cluster);
          await fn(cluster);
        } while (again.has(cluster) && !stopped());
      })().finally(() => running.delete(cluster));
      running.set(cluster, run);
      return run;
    },
    inFlight: () => [...running.values()],
  };
}
