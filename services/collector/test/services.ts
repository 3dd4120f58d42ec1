/**
 * The real services these integration tests need (a copy of packages/adapters/test/services.ts
 * without the Kafka fixtures' decision events). A missing or unreachable
 * service fails every test that needs it with a message naming the missing piece: these
 * tests are never skipped, because a green run must mean Redis and Kafka really worked.
 */
import { randomUUID } from "node:crypto";
import { pingKafka, pingRedis } from "@meshtune/adapters";

const HOW = "Run the tests through `./dev test`, which starts local services, or export";

let redis: Promise<string> | undefined;
let kafka: Promise<string> | undefined;

export function requireRedis(): Promise<string> {
  redis ??= (async () => {
    const url = process.env.REDIS_URL;
    if (!url)
      throw new Error(`REDIS_URL is not set: these tests need a real Redis. ${HOW} REDIS_URL=redis://host:port.`);
    const ping = await pingRedis(url);
    if (!ping.ok) throw new Error(`Redis is unreachable (REDIS_URL=${url}): ${ping.error}`);
    return url;
  })();
  return redis;
}

export function requireKafka(): Promise<string> {
  kafka ??= (async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) {
      throw new Error(
        `KAFKA_BROKERS is not set: these tests need a real Kafka broker. ${HOW} KAFKA_BROKERS=host:port.`,
      );
    }
    const ping = await pingKafka(brokers);
    if (!ping.ok) throw new Error(`Kafka is unreachable (KAFKA_BROKERS=${brokers}): ${ping.error}`);
    return brokers;
  })();
  return kafka;
}

export const randomName = (what: string) => `mt-test-${what}-${randomUUID().slice(0, 8)}`;

/** Collects clean-ups so afterAll closes every client even when a test failed halfway. */
export class Closer {
  private readonly fns: Array<() => Promise<unknown> | unknown> = [];
  add<T extends { close(): Promise<unknown> | unknown }>(resource: T): T {
    this.fns.push(() => resource.close());
    return resource;
  }
  defer(fn: () => Promise<unknown> | unknown): void {
    this.fns.push(fn);
  }
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "closing test clients failed");
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
