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
  type Redis,
  type SigningKey,
} from "@meshtune/adapters";
import { ConfigAckSchema } from "@meshtune/contracts";
import { type AdminServer, startAdmin } from "./admin.js";
import { type ActuatorContext, type ActuatorSettings, contextKeys, DEFAULT_SETTINGS } from "./context.js";
import { type ActuatorMetrics, createActuatorMetrics } from "./metrics.js";
import { createScheduler } from "./scheduler.js";
import { PublishTraces } from "./traces.js";

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

export { streamIdAfter } from "./scheduler.js";

/** The context every part receives: store, outbox relay, keys, metrics, settings, clock. */
function buildContext(
  opts: ActuatorOptions,
  redis: Redis,
  publisher: EventPublisher,
  logger: Logger,
  settings: ActuatorSettings,
): { ctx: ActuatorContext; metrics: ActuatorMetrics } {
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
    traces: new PublishTraces(),
  };

  return { ctx, metrics };
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
  const { ctx, metrics } = buildContext(opts, redis, publisher, logger, settings);
  let closed = false;
  const { actuate, converge, poke, inFlight } = createScheduler(ctx, () => closed);

  const followed = new Set<string>();
  async function follow(cluster: string): Promise<void> {
    if (followed.has(cluster)) return;
    followed.add(cluster);
    try {
      await pubsub.subscribe(ctx.channels.acks(cluster), (message) => {
        try {
          const ack = JSON.parse(message) as { status?: string };
          metrics.acks.inc({ cluster, status: ack.status === "NACK" ? "NACK" : "ACK" });
          const parsed = ConfigAckSchema.safeParse(ack);
          if (parsed.success && parsed.data.cluster === cluster) ctx.traces?.ack(parsed.data);
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
      await Promise.allSettled(inFlight());
      await admin?.close();
      await pubsub.close();
      await publisher.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
