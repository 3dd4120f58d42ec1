/**
 * Evaluation triggers (issue #9): every cluster with fresh data is enqueued once per interval,
 * with `at` = the interval's end, so N collector replicas enqueue the same job id and BullMQ
 * keeps one; a fast signal enqueues its cluster at once, with `at` = now (a distinct id: a
 * completed interval job with the same id would swallow it). Signals that arrive while a
 * cluster's immediate enqueue is in flight share one more enqueue after it (single flight with
 * a trailing call): a burst of failures costs two jobs, not one per export request.
 */
import type { EvaluationQueue, Logger } from "@meshtune/adapters";
import type { CollectorMetrics } from "./metrics.js";

export interface EvaluationTriggers {
  fresh(cluster: string): void;
  signal(cluster: string): void;
  /** Enqueues the clusters of the interval that ended at or before `now`; returns how many. */
  tick(now: number): Promise<number>;
  /** Waits for the immediate enqueues still in flight. */
  drain(): Promise<void>;
}

export interface TriggerOptions {
  queue: EvaluationQueue | undefined;
  intervalMs: number;
  metrics: CollectorMetrics;
  logger: Logger;
  now: () => number;
}

export function createTriggers(o: TriggerOptions): EvaluationTriggers {
  let fresh = new Set<string>();
  const pending = new Set<Promise<void>>();
  /** Clusters with an immediate enqueue in flight -> whether another signal came meanwhile. */
  const flying = new Map<string, boolean>();
  const enqueue = async (cluster: string, atMs: number, trigger: "interval" | "signal") => {
    if (!o.queue) return;
    const r = await o.queue.enqueue({ cluster, at: new Date(atMs).toISOString() });
    o.metrics.jobs.inc({ trigger, result: r.ok ? "ok" : "failed" });
    if (!r.ok) o.logger.warn({ cluster, error: r.error }, "could not enqueue an evaluation");
  };
  return {
    fresh(cluster) {
      fresh.add(cluster);
    },
    signal(cluster) {
      if (flying.has(cluster)) {
        flying.set(cluster, true);
        return;
      }
      flying.set(cluster, false);
      const run = async (): Promise<void> => {
        await enqueue(cluster, o.now(), "signal");
        if (flying.get(cluster)) {
          flying.set(cluster, false);
          return run();
        }
        flying.delete(cluster);
      };
      const p = run().finally(() => pending.delete(p));
      pending.add(p);
    },
    async tick(now) {
      const at = Math.floor(now / o.intervalMs) * o.intervalMs;
      const clusters = fresh;
      fresh = new Set();
      await Promise.all([...clusters].map((c) => enqueue(c, at, "interval")));
      return clusters.size;
    },
    async drain() {
      await Promise.all([...pending]);
    },
  };
}
