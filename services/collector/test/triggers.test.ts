/** Evaluation triggers with a fake queue and a fake clock: interval `at` alignment, single flight. */
import type { EvaluationJob, EvaluationQueue } from "@meshtune/adapters";
import { silentLogger } from "@meshtune/adapters";
import { describe, expect, it } from "vitest";
import { CollectorMetrics } from "../src/metrics.js";
import { createTriggers } from "../src/triggers.js";

function gatedQueue() {
  const jobs: EvaluationJob[] = [];
  const gates: Array<() => void> = [];
  const queue: EvaluationQueue = {
    enqueue(job) {
      jobs.push(job);
      return new Promise((resolve) => gates.push(() => resolve({ ok: true, value: { jobId: job.at } })));
    },
    state: async () => "unknown",
    close: async () => {},
  };
  const openAll = async () => {
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { jobs, queue, openAll };
}

describe("evaluation triggers", () => {
  it("enqueues each fresh cluster once per interval, at the interval's end", async () => {
    const q = gatedQueue();
    let now = 10_250;
    const t = createTriggers({
      queue: q.queue,
      intervalMs: 1_000,
      metrics: new CollectorMetrics({ processMetrics: false }),
      logger: silentLogger(),
      now: () => now,
    });
    t.fresh("a");
    t.fresh("b");
    t.fresh("a");
    now = 11_003;
    const ticked = t.tick(now);
    await q.openAll();
    expect(await ticked).toBe(2);
    expect(q.jobs).toEqual([
      { cluster: "a", at: new Date(11_000).toISOString() },
      { cluster: "b", at: new Date(11_000).toISOString() },
    ]);
    // Nothing fresh: nothing enqueued.
    expect(await t.tick(12_001)).toBe(0);
  });

  it("a burst of fast signals costs one enqueue plus one trailing enqueue", async () => {
    const q = gatedQueue();
    let now = 5_000;
    const t = createTriggers({
      queue: q.queue,
      intervalMs: 1_000,
      metrics: new CollectorMetrics({ processMetrics: false }),
      logger: silentLogger(),
      now: () => now,
    });
    t.signal("a");
    now = 5_010;
    for (let i = 0; i < 50; i++) t.signal("a");
    t.signal("b");
    await q.openAll();
    await t.drain();
    expect(q.jobs.map((j) => [j.cluster, Date.parse(j.at)])).toEqual([
      ["a", 5_000],
      ["b", 5_010],
      ["a", 5_010],
    ]);
  });
});
