/**
 * The durable Kafka outbox (issue #11): events are first written to a Redis stream per cluster
 * (in the same Lua script as the snapshot they describe, see snapshot-store.ts), then relayed
 * to Kafka in stream order. An entry leaves the stream only after Kafka acknowledged it
 * (acks=all), so while Kafka is down events wait in Redis and none is lost; a batch that timed
 * out after the broker wrote it is sent again with the same CloudEvent id (at-least-once,
 * consumers dedupe by id). One relay per cluster at a time (a Redis lock) keeps the order.
 */
import { redisKeys } from "@meshtune/contracts";
import type { Redis } from "ioredis";
import { type EventRecord, toEventRecord } from "./cloudevents-kafka.js";
import type { EventPublisher } from "./event-publisher.js";
import { defaultLogger, type Logger } from "./log.js";
import { withLock } from "./lua.js";
import { errorMessage, type Result } from "./result.js";
import { OUTBOX_FIELD } from "./snapshot-store.js";

export interface OutboxRelayOptions {
  redis: Redis;
  publisher: EventPublisher;
  prefix?: string;
  /** Events per Kafka request (default 100). */
  batchSize?: number;
  /** Batches per flush() call, so one busy cluster cannot starve the others (default 20). */
  maxBatches?: number;
  /** Outbox bound for appendOutbox (default 100,000). */
  maxLen?: number;
  logger?: Logger;
  /** Called after Kafka acknowledged records (metrics, tests). */
  onDelivered?: (cluster: string, records: readonly EventRecord[]) => void;
}

export interface FlushResult {
  delivered: number;
  /** Entries still waiting (0 after a full flush). */
  remaining: number;
  /** False when another process held the cluster's relay lock. */
  locked: boolean;
}

export interface OutboxRelay {
  /** Appends events (CloudEvent objects) outside a snapshot commit, e.g. convergence events. */
  append(cluster: string, events: readonly unknown[]): Promise<Result<number>>;
  /** Relays a cluster's waiting events to Kafka, oldest first; stops at the first failure. */
  flush(cluster: string): Promise<Result<FlushResult>>;
  depth(cluster: string): Promise<Result<number>>;
}

/**
 * Longer than the worst single Kafka send (kafkajs: 5 attempts × up to 10 s request timeout +
 * 2 s backoff ≈ 60 s), so the lock cannot lapse mid-send; a crashed relay holds a cluster's
 * events back for at most this long (they wait durably meanwhile).
 */
const LOCK_TTL_MS = 120_000;

export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const keys = redisKeys(opts.prefix);
  const { redis, publisher } = opts;
  const batchSize = opts.batchSize ?? 100;
  const maxBatches = opts.maxBatches ?? 20;
  const maxLen = opts.maxLen ?? 100_000;
  const logger = opts.logger ?? defaultLogger();

  /** One batch: read, send, delete what Kafka acknowledged. */
  async function relayBatch(cluster: string): Promise<Result<number>> {
    const stream = keys.outbox(cluster);
    const entries = await redis.xrange(stream, "-", "+", "COUNT", batchSize);
    if (entries.length === 0) return { ok: true, value: 0 };
    const records: EventRecord[] = [];
    const bad: string[] = [];
    for (const [id, fields] of entries) {
      const record = parseEntry(fields);
      if (record.ok) records.push(record.value);
      else {
        // An entry that can never become a valid event would block the cluster forever.
        logger.error({ cluster, entry: id, error: record.error }, "dropping an invalid outbox entry");
        bad.push(id);
      }
    }
    const sent = await publisher.send(records);
    if (!sent.ok) {
      if (bad.length > 0) await redis.xdel(stream, ...bad);
      return sent;
    }
    await redis.xdel(stream, ...entries.map(([id]) => id));
    if (records.length > 0) opts.onDelivered?.(cluster, records);
    return { ok: true, value: records.length };
  }

  return {
    async append(cluster, events) {
      if (events.length === 0) return { ok: true, value: 0 };
      try {
        const multi = redis.multi();
        for (const e of events)
          multi.xadd(keys.outbox(cluster), "MAXLEN", "~", maxLen, "*", OUTBOX_FIELD, JSON.stringify(e));
        await multi.exec();
        return { ok: true, value: events.length };
      } catch (err) {
        return { ok: false, retryable: true, error: `append to outbox of ${cluster}: ${errorMessage(err)}` };
      }
    },
    async flush(cluster) {
      try {
        const run = await withLock(redis, keys.lock(cluster, "outbox"), LOCK_TTL_MS, async () => {
          let delivered = 0;
          // Stop well inside the lock's TTL: past it another relay could start on the same
          // entries and interleave with this one (order per cluster is the promise).
          const until = Date.now() + LOCK_TTL_MS / 4;
          for (let i = 0; i < maxBatches && Date.now() < until; i++) {
            const r = await relayBatch(cluster);
            if (!r.ok) return { failed: r, delivered };
            delivered += r.value;
            if (r.value < batchSize) break;
          }
          return { failed: undefined, delivered };
        });
        const remaining = await redis.xlen(keys.outbox(cluster));
        if (!run.locked) return { ok: true, value: { delivered: 0, remaining, locked: false } };
        if (run.value.failed) return run.value.failed;
        return { ok: true, value: { delivered: run.value.delivered, remaining, locked: true } };
      } catch (err) {
        return { ok: false, retryable: true, error: `relay outbox of ${cluster}: ${errorMessage(err)}` };
      }
    },
    async depth(cluster) {
      try {
        return { ok: true, value: await redis.xlen(keys.outbox(cluster)) };
      } catch (err) {
        return { ok: false, retryable: true, error: `outbox depth of ${cluster}: ${errorMessage(err)}` };
      }
    },
  };
}

function parseEntry(fields: string[]): Result<EventRecord> {
  const i = fields.indexOf(OUTBOX_FIELD);
  if (i < 0 || i % 2 !== 0) return { ok: false, retryable: false, error: `no field '${OUTBOX_FIELD}'` };
  let json: unknown;
  try {
    json = JSON.parse(fields[i + 1] ?? "");
  } catch {
    return { ok: false, retryable: false, error: "event is not JSON" };
  }
  // biome-ignore lint/suspicious/noExplicitAny: validated by toEventRecord against MeshtuneEventSchema
  return toEventRecord(json as any);
}
