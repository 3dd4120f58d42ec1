/**
 * Shared state and helpers of the actuator benchmark (see run.ts): options, Redis, the
 * simulator, engine-like decision writes, a tuner (actuator + fleet) per part, and an
 * event-driven ACK watcher.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRedis, silentLogger } from "../../packages/adapters/dist/index.js";
import { redisChannels, redisKeys } from "../../packages/contracts/dist/index.js";
import { startSimulatorWith } from "../../packages/testkit/dist/index.js";
import { startActuator } from "../../services/actuator/dist/index.js";
import { type Fleet, startFleet } from "./fleet.ts";

export const { values } = parseArgs({
  options: {
    proxies: { type: "string", default: "20" },
    rounds: { type: "string", default: "100" },
    burst: { type: "string", default: "2000" },
    quick: { type: "boolean", default: false },
    /** Run only these parts (comma-separated: latency,burst,sustained,fleet). */
    only: { type: "string", default: "latency,burst,sustained,fleet" },
  },
});
export const N = Number(values.proxies);
export const ONLY = new Set(values.only.split(","));
export const ROUNDS = values.quick ? 20 : Number(values.rounds);
export const BURST = values.quick ? 300 : Number(values.burst);
export const redisUrl = process.env.REDIS_URL ?? "";
export const brokers = process.env.KAFKA_BROKERS ?? "";
if (!redisUrl || !brokers) throw new Error("REDIS_URL and KAFKA_BROKERS must be set (. .run/services.env)");
export const KEY = "bench:6d2f0c8e4b1a97f35e0d2c4b6a8f1e3d";
export const CLUSTER = "api";
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};
export const summary = (xs: number[]) => ({
  n: xs.length,
  p50: pct(xs, 50),
  p90: pct(xs, 90),
  p99: pct(xs, 99),
  max: Math.max(...xs),
});
export const redis = createRedis(redisUrl, { name: "bench-actuator" });
export const sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
export const ports = sim.endpoints.map((e) => e.port);
export const dir = mkdtempSync(join(tmpdir(), "meshtune-bench-actuator-"));
let seq = 0;
export function decision(prefix: string, kind: string, endpoint: string, after: Record<string, unknown>) {
  return {
    apiVersion: "meshtune.io/decision/v1alpha1",
    id: `${prefix}-${++seq}`,
    cluster: CLUSTER,
    endpoint,
    kind,
    rule: "bench",
    reason: "bench",
    inputs: {},
    before: {},
    after,
    dryRun: false,
    decidedAt: new Date().toISOString(),
  };
}

export type Acks = Awaited<ReturnType<typeof ackWatcher>>;
export async function withTuner<T>(
  fn: (ctx: { prefix: string; fleet: Fleet; acks: Acks; write: (d: object) => Promise<void> }) => Promise<T>,
  opts: { maxRetries?: number; kafka?: boolean } = {},
) {
  const prefix = `bench-${Date.now().toString(36)}`;
  const acks = await ackWatcher(prefix);
  const actuator = await startActuator({
    redisUrl,
    prefix,
    // Without Kafka the events stay in the outbox, where the sustained phase reads which
    // version carried each decision.
    kafkaBrokers: opts.kafka === false ? undefined : brokers,
    topic: `meshtune.decisions.bench.${prefix}`,
    controlKey: KEY,
    admin: false,
    logger: silentLogger(),
  });
  const fleet = await startFleet({
    n: N,
    dir,
    endpoints: ports,
    redis: { url: redisUrl as string, prefix, key: KEY },
    ...opts,
  });
  const keys = redisKeys(prefix);
  // What the engine does, in one round trip: XADD the decision, register the cluster, announce.
  const write = async (d: object) => {
    await redis
      .pipeline()
      .xadd(keys.decisions(CLUSTER), "*", "d", JSON.stringify(d))
      .sadd(keys.clusters(), CLUSTER)
      .publish(redisChannels(prefix).decisions(), CLUSTER)
      .exec();
  };
  try {
    return await fn({ prefix, fleet, acks, write });
  } finally {
    await fleet.stop();
    await actuator.close();
    await acks.close();
  }
}

/**
 * The proxies' answers, event-driven (a subscription to the acks channel, not polling, so the
 * harness does not steal CPU from the actuator it measures). `answers(v, n)` resolves once n
 * proxies answered version v.
 */
export async function ackWatcher(prefix: string) {
  const sub = redis.duplicate();
  type Ack = { proxyId: string; version: number; at: number; status: string };
  const byVersion = new Map<number, Ack[]>();
  const waiters = new Set<() => void>();
  sub.on("message", (_ch: string, msg: string) => {
    const a = JSON.parse(msg) as Ack;
    byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a]);
    for (const w of waiters) w();
  });
  await sub.subscribe(redisChannels(prefix).acks(CLUSTER));
  return {
    byVersion,
    answers(version: number, n: number, timeoutMs = 30_000) {
      return new Promise<Ack[]>((resolve, reject) => {
        const check = () => {
          const got = byVersion.get(version) ?? [];
          if (got.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(got);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`version ${version}: fewer than ${n} answers within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => sub.quit(),
  };
}
