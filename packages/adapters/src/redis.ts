/**
 * Redis connections and the pub/sub port (DESIGN.md section 4: the actuator announces new
 * snapshot versions on pub/sub; proxies ACK/NACK on another channel). Channel names come only
 * from `redisChannels(prefix)` in @meshtune/contracts.
 */
import { redisChannels } from "@meshtune/contracts";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { defaultLogger, type Logger } from "./log.js";
import { errorMessage, type Result } from "./result.js";

export type { Cluster, Redis } from "ioredis";

export interface CreateRedisOptions {
  /** Shown in CLIENT LIST, which makes leaked connections easy to attribute. */
  name?: string;
  /**
   * BullMQ needs `maxRetriesPerRequest: null` so its blocking commands wait through a
   * reconnect instead of failing (BullMQ docs, "Going to production"). Ordinary clients keep a
   * small bound so a dead Redis surfaces as an error within seconds, not a hung request.
   */
  forBullMQ?: boolean;
  /** Passed through to ioredis last, so it wins. */
  ioredis?: RedisOptions;
}

/** Reconnect backoff: 100 ms, 200 ms, ... capped at 2 s, forever (the process outlives Redis restarts). */
export function redisRetryDelay(times: number): number {
  return Math.min(times * 100, 2_000);
}

export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    connectTimeout: 5_000,
    retryStrategy: redisRetryDelay,
    maxRetriesPerRequest: opts.forBullMQ ? null : 3,
    ...(opts.name ? { connectionName: opts.name } : {}),
    ...opts.ioredis,
  });
}

/**
 * A Redis Cluster client (ioredis Cluster) from seed nodes; it discovers the other nodes and
 * routes each command by its key's slot. Every meshtune key carries a hash tag, so the
 * multi-key commands and Lua scripts of one cluster land on one node.
 */
export function createRedisCluster(
  nodes: readonly { host: string; port: number }[],
  opts: CreateRedisOptions = {},
): Cluster {
  return new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      clusterRetryStrategy: redisRetryDelay,
      redisOptions: {
        connectTimeout: 5_000,
        maxRetriesPerRequest: opts.forBullMQ ? null : 3,
        ...(opts.name ? { connectionName: opts.name } : {}),
        ...opts.ioredis,
      },
    },
  );
}

/**
 * A client from a URL: `redis://host:port` for one Redis, or `redis+cluster://h1:p1,h2:p2,...`
 * for a Redis Cluster (seed nodes; the client finds the rest).
 */
export function connectRedis(url: string, opts: CreateRedisOptions = {}): Redis | Cluster {
  const m = /^redis\+cluster:\/\/(.+)$/.exec(url);
  if (!m) return createRedis(url, opts);
  const nodes = m[1]!
    .replace(/\/.*$/, "")
    .split(",")
    .map((hp) => {
      const i = hp.lastIndexOf(":");
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    });
  return createRedisCluster(nodes, opts);
}

/**
 * Deletes every key matching `pattern` with a bounded SCAN (at most 10,000 pages of 500) and
 * UNLINK, so a run can remove what it wrote without KEYS blocking the server. Single-node
 * Redis only (a cluster scans per node). Returns the number of keys removed.
 */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = "0";
  let removed = 0;
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    if (keys.length > 0) removed += await redis.unlink(...keys);
    cursor = next;
    if (cursor === "0") break;
  }
  return removed;
}

/**
 * One PING on a throw-away connection that does not reconnect, so an unreachable URL answers
 * within `timeoutMs` instead of retrying forever. For start-up checks and test setup.
 */
export async function pingRedis(url: string, timeoutMs = 3_000): Promise<Result<{ latencyMs: number }>> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // ioredis rejects with "Connection is closed."; the socket error says why (ECONNREFUSED...).
  let socketError: unknown;
  client.on("error", (err) => {
    socketError ??= err;
  });
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
    return { ok: true, value: { latencyMs: performance.now() - started } };
  } catch (err) {
    return { ok: false, retryable: true, error: `Redis at ${redactUrl(url)}: ${errorMessage(socketError ?? err)}` };
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** Hides a password in a redis:// URL before it reaches a log or an error message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, "//$1:***@");
}

export type MessageHandler = (message: string, channel: string) => void;
export type Unsubscribe = () => Promise<void>;

/** The pub/sub port: what the actuator and proxies need, nothing of ioredis leaks through. */
export interface PubSub {
  /** Channel names for this prefix, from @meshtune/contracts. */
  readonly channels: ReturnType<typeof redisChannels>;
  /** Resolves to the number of subscribers that received the message (Redis PUBLISH reply). */
  publish(channel: string, message: string): Promise<number>;
  /**
   * Resolves once Redis has confirmed the subscription: Redis pub/sub is fire-and-forget, so a
   * message published before that is lost for this subscriber.
   */
  subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe>;
  close(): Promise<void>;
}

export interface RedisPubSubOptions {
  /** A URL (the PubSub owns both connections) or a client to publish on (the caller owns it). */
  connection: string | Redis;
  prefix?: string;
  logger?: Logger;
}

/**
 * PubSub on ioredis. A connection in subscriber mode can run no other commands, so
 * subscriptions live on a second connection (a duplicate of the publisher's settings).
 */
export function createRedisPubSub(opts: RedisPubSubOptions): PubSub {
  const logger = opts.logger ?? defaultLogger();
  const ownsPublisher = typeof opts.connection === "string";
  const publisher =
    typeof opts.connection === "string" ? createRedis(opts.connection, { name: "meshtune-pub" }) : opts.connection;
  const subscriber = publisher.duplicate({ connectionName: "meshtune-sub", lazyConnect: false });
  // channel -> handlers, plus the SUBSCRIBE in flight so a second subscriber to the same
  // channel also waits for Redis's confirmation.
  const channels = new Map<string, { handlers: Set<MessageHandler>; subscribed: Promise<unknown> }>();
  let closed = false;

  subscriber.on("error", (err) => logger.warn({ err }, "redis subscriber connection error"));
  if (ownsPublisher) publisher.on("error", (err) => logger.warn({ err }, "redis publisher connection error"));
  subscriber.on("message", (channel: string, message: string) => {
    for (const handler of channels.get(channel)?.handlers ?? []) {
      try {
        handler(message, channel);
      } catch (err) {
        // One bad handler must not starve the others of the message.
        logger.error({ err, channel }, "pub/sub handler threw");
      }
    }
  });

  return {
    channels: redisChannels(opts.prefix),
    publish: (channel, message) => publisher.publish(channel, message),
    async subscribe(channel, handler) {
      if (closed) throw new Error("PubSub is closed");
      let entry = channels.get(channel);
      if (!entry) {
        entry = { handlers: new Set(), subscribed: subscriber.subscribe(channel) };
        channels.set(channel, entry);
      }
      entry.handlers.add(handler);
      try {
        await entry.subscribed;
      } catch (err) {
        // Forget the failed SUBSCRIBE so the next call tries again.
        if (channels.get(channel) === entry) channels.delete(channel);
        throw err;
      }
      return async () => {
        const current = channels.get(channel);
        if (!current?.handlers.delete(handler) || current.handlers.size > 0) return;
        channels.delete(channel);
        if (!closed) await subscriber.unsubscribe(channel);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      channels.clear();
      await subscriber.quit().catch(() => subscriber.disconnect());
      if (ownsPublisher) await publisher.quit().catch(() => publisher.disconnect());
    },
  };
}
