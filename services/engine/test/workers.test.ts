/**
 * Two engine workers on real Redis and BullMQ (issue #10): jobs for two clusters spread over
 * both workers, one cluster is never evaluated twice at once, a hard failure becomes one
 * ejection in the stream, and a job retried after its commit adds nothing.
 */
import { createEvaluationQueue, createRedis, type EvaluationQueue } from "@meshtune/adapters";
import { type Decision, QUEUE_NAMES, redisKeys } from "@meshtune/contracts";
import { endpointName } from "@meshtune/engine/sim";
import { Queue } from "bullmq";
import { afterAll, describe, expect, test } from "vitest";
import { type EngineWorker, type JobOutcome, startEngineWorker } from "../src/index.js";
import { randomPrefix, requireRedis, SimWindows, waitFor } from "./helpers.js";

const START = Date.UTC(2026, 0, 1, 10);
const CLUSTERS = ["api.example.com", "billing.example.com"];
const SECONDS = 40;

async function streamDecisions(
  redis: ReturnType<typeof createRedis>,
  prefix: string,
  cluster: string,
): Promise<Decision[]> {
  const entries = (await redis.xrange(redisKeys(prefix).decisions(cluster), "-", "+")) as [string, string[]][];
  return entries.map(([, f]) => JSON.parse(f[1] ?? "{}") as Decision);
}

describe("two engine workers on Redis + BullMQ", async () => {
  const url = await requireRedis();
  const redis = createRedis(url);
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await redis.quit();
  });

  test("share the jobs, never overlap on a cluster, eject once, and a retried job adds nothing", async () => {
    const prefix = randomPrefix();
    const windows = new SimWindows(START, (cluster) => ({
      endpoints: 5,
      proxies: 20,
      ratePerEndpoint: 50,
      seed: cluster.length,
      faults: cluster === CLUSTERS[0] ? [{ endpoint: 2, kind: "refuse", from: 15_000, to: 60_000 }] : [],
    }));
    const outcomes: Array<{
      worker: number;
      cluster: string;
      at: number;
      outcome: JobOutcome | { result: "failed"; error: string };
    }> = [];
    const workers: EngineWorker[] = [];
    for (const w of [0, 1]) {
      const worker = await startEngineWorker({
        redisUrl: url,
        prefix,
        windows,
        concurrency: 4,
        metricsAddress: false,
        processMetrics: false,
        onJob: (cluster, at, outcome) => {
          outcomes.push({ worker: w, cluster, at, outcome });
        },
      });
      workers.push(worker);
      closers.push(() => worker.close());
    }
    const queue: EvaluationQueue = createEvaluationQueue({ connection: url, prefix });
    closers.push(() => queue.close());
    for (let s = 1; s <= SECONDS; s++) {
      for (const cluster of CLUSTERS) {
        const r = await queue.enqueue({ cluster, at: new Date(START + s * 1000).toISOString() });
        expect(r.ok).toBe(true);
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    await waitFor("every job to finish", () => outcomes.length >= SECONDS * CLUSTERS.length);

    expect(windows.maxActive).toBe(1);
    expect(outcomes.filter((o) => o.outcome.result === "failed")).toEqual([]);
    expect(new Set(outcomes.map((o) => o.worker))).toEqual(new Set([0, 1]));
    const evaluated = outcomes.filter((o) => o.outcome.result === "evaluated");
    expect(evaluated.length).toBeGreaterThan(SECONDS);

    const api = await streamDecisions(redis, prefix, CLUSTERS[0]!);
    expect(new Set(api.map((d) => d.id)).size).toBe(api.length);
    const ejects = api.filter((d) => d.kind === "eject" && d.endpoint === endpointName(2));
    expect(ejects).toHaveLength(1);
    // Decided by the first evaluation that saw the signal (at 15 s, in the window ending 16 s). Two
    // workers take jobs out of order, and a job older than the last evaluation is stale, so that
    // evaluation is the earliest one that ran for a window ending at 16 s or later.
    const firstAfter = Math.min(
      ...evaluated.filter((o) => o.cluster === CLUSTERS[0] && o.at >= START + 16_000).map((o) => o.at),
    );
    expect(Date.parse(ejects[0]!.decidedAt)).toBe(firstAfter);
    expect((await streamDecisions(redis, prefix, CLUSTERS[1]!)).filter((d) => d.kind === "eject")).toEqual([]);

    // A retry of an evaluation that already committed (as after a worker crash before BullMQ
    // heard back): same cluster and time under another job id. It is stale and adds nothing.
    const before = await redis.xlen(redisKeys(prefix).decisions(CLUSTERS[0]!));
    const raw = new Queue(QUEUE_NAMES.evaluate, {
      connection: createRedis(url, { forBullMQ: true }),
      prefix: redisKeys(prefix).queuePrefix(),
    });
    closers.push(async () => {
      const c = await raw.client;
      await raw.close();
      await c.quit();
    });
    const at = ejects[0]!.decidedAt;
    await raw.add("evaluate", { cluster: CLUSTERS[0]!, at }, { jobId: `retry-${Date.now()}` });
    await waitFor("the retried job", () => outcomes.length > SECONDS * CLUSTERS.length);
    expect(outcomes.at(-1)?.outcome.result).toBe("stale");
    expect(await redis.xlen(redisKeys(prefix).decisions(CLUSTERS[0]!))).toBe(before);
    // Metrics saw the decisions the commits added.
    const text = (await workers[0]!.metrics.registry.metrics()) + (await workers[1]!.metrics.registry.metrics());
    expect(text).toMatch(
      /meshtune_engine_decisions_total\{cluster="api.example.com",rule="fleet-eject",kind="eject",outcome="applied"\} 1/,
    );
  });
});
