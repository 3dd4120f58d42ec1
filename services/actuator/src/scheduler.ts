/**
 * Per-cluster work of the actuator as three single-flight tasks (issue #11): actuation (fold
 * new decisions into a version), the outbox relay to Kafka, and the convergence check. A
 * decision never waits behind a Kafka send or an ACK-triggered check: actuation triggers the
 * other two after it, without awaiting them.
 */
import { errorMessage } from "@meshtune/adapters";
import { actuateCluster } from "./actuate.js";
import type { ActuatorContext } from "./context.js";
import { checkConvergence } from "./converge.js";

/** Compares Redis stream ids ("ms-seq"). */
export function streamIdAfter(a: string, b: string | undefined): boolean {
  if (!b) return true;
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am !== bm ? am > bm : as > bs;
}

export interface Scheduler {
  actuate: SingleFlight;
  relay: SingleFlight;
  converge: SingleFlight;
  /** Actuation, then relay and convergence, awaited (tests, bench, the periodic scan). */
  poke(cluster: string): Promise<void>;
  inFlight(): Promise<void>[];
}

export function createScheduler(ctx: ActuatorContext, isClosed: () => boolean): Scheduler {
  const { redis, metrics, logger } = ctx;
  const closed = isClosed;

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
  const relay = singleFlight(async (cluster) => {
    const flushed = await ctx.relay.flush(cluster);
    if (!flushed.ok) {
      metrics.kafkaErrors.inc();
      logger.warn({ cluster, error: flushed.error }, "events wait in the outbox");
    }
    const depth = await ctx.relay.depth(cluster);
    if (depth.ok) metrics.outboxDepth.set({ cluster }, depth.value);
  }, closed);
  const converge = singleFlight(async (cluster) => {
    try {
      await checkConvergence(ctx, cluster);
    } catch (err) {
      metrics.redisErrors.inc({ op: "convergence" });
      logger.error({ cluster, err: errorMessage(err) }, "convergence check failed");
    }
  }, closed);
  const actuate = singleFlight(async (cluster) => {
    try {
      if (!(await hasNewDecisions(cluster))) return;
      await actuateCluster(ctx, cluster);
    } catch (err) {
      metrics.redisErrors.inc({ op: "actuate" });
      logger.error({ cluster, err: errorMessage(err) }, "actuation failed; retried on the next scan");
    }
    void relay.trigger(cluster);
    void converge.trigger(cluster);
  }, closed);
  const tasks = [actuate, relay, converge];

  async function poke(cluster: string): Promise<void> {
    await actuate.trigger(cluster);
    await Promise.all([relay.trigger(cluster), converge.trigger(cluster)]);
  }

  return {
    actuate,
    relay,
    converge,
    poke,
    inFlight: () => tasks.flatMap((t) => t.inFlight()),
  };
}

interface SingleFlight {
  trigger(cluster: string): Promise<void>;
  inFlight(): Promise<void>[];
}

/**
 * Runs `fn` for a cluster at most once at a time; a trigger while it runs asks for exactly one
 * more run after it (so nothing that arrived during a run is missed, and bursts coalesce).
 */
function singleFlight(fn: (cluster: string) => Promise<void>, stopped: () => boolean): SingleFlight {
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
