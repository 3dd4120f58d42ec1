/**
 * Evaluation triggers (issue #9): every cluster with fresh data is enqueued once per interval,
 * with `at` = the interval's end, so N collector replicas enqueue the same job id and BullMQ
 * keeps one; a fast signal enqueues its cluster at once, with `at` = now (a distinct id: a
 * completed interval job with the same id would swallow it). Signals that arrive while a
 * cluster's immediate enqueue is in flight share one more enqueue after it (single flight with
 * a trailing call): a burst of failures costs two jobs, not one per export request.
 * A signal's job carries the trace of the request that brought it (the newest such request for
 * a trailing call), so the evaluation it causes is part of that request's trace.
 */
import { type EvaluationQueue, type Logger, traceparentOf } from "@meshtune/adapters";
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
  /** Per cluster with an immediate enqueue pending: the traceparent of the newest signal. */
  const causes = new Map<string, string | undefined>();
  const enqueue = async (cluster: string, atMs: number, trigger: "interval" | "signal", traceparent?: string) => {
    if (!o.queue) return;
    const at = new Date(atMs).toISOString();
    const r = await o.queue.enqueue(traceparent ? { cluster, at, traceparent } : { cluster, at });
    o.metrics.jobs.inc({ trigger, result: r.ok ? "ok" : "failed" });
    if (!r.ok) o.logger.warn({ cluster, error: r.error }, "could not enqueue an evaluation");
  };
  return {
    fresh(cluster) {
      fresh.add(cluster);
    },
    signal(cluster) {
      causes.set(cluster, traceparentOf());
      if (flying.has(cluster)) {
        flying.set(cluster, true);
        return;
      }
      flying.set(cluster, false);
      const run = async (): Promise<void> => {
        const cause = causes.get(cluster);
        causes.delete(cluster);
        await enqueue(cluster, o.now(), "signal", cause);
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
