/**
 * Evaluation jobs on BullMQ (DESIGN.md section 4: collectors enqueue, engine workers
 * evaluate). BullMQ owns every key below `redisKeys(prefix).queuePrefix()`; the queue name
 * comes from QUEUE_NAMES. Tests pass a random prefix so runs never see each other's jobs.
 */
import { QUEUE_NAMES, redisKeys } from "@meshtune/contracts";
import { type Job, type JobState, Queue, Worker } from "bullmq";
import { defaultLogger, type Logger } from "./log.js";
import { createRedis, type Redis } from "./redis.js";
import { errorMessage, type Result } from "./result.js";

/** "Evaluate this cluster's windows as of `at`" (ISO-8601 time of the window end). */
export interface EvaluationJob {
  cluster: string;
  at: string;
  /**
   * W3C trace context of what caused the job (the collector's OTLP request that carried a fast
   * signal), so the evaluation continues that trace; absent for interval jobs (a new trace).
   * Carried by hand rather than with BullMQ's `telemetry` option: see
   * docs/decisions/0018-tuner-tracing.md.
   */
  traceparent?: string;
}

export interface EvaluationQueueOptions {
  /** A URL (the queue owns its connection) or a client made with createRedis(url, { forBullMQ: true }). */
  connection: string | Redis;
  prefix?: string;
}

export interface EvaluationQueue {
  /**
   * Enqueues once per (cluster, at): the job id is derived from both, so N collectors that
   * notice the same window enqueue one evaluation, not N (BullMQ ignores a duplicate id).
   */
  enqueue(job: EvaluationJob): Promise<Result<{ jobId: string }>>;
  /** "unknown" once BullMQ has removed the job (see removeOnComplete below). */
  state(jobId: string): Promise<JobState | "unknown">;
  close(): Promise<void>;
}

/** BullMQ custom ids may not contain ":" (bullmq Job.validateOptions), which ISO times do. */
export function evaluationJobId(job: EvaluationJob): string {
  return encodeURIComponent(`${job.cluster}@${job.at}`);
}

function invalid(job: EvaluationJob): string | undefined {
  if (typeof job.cluster !== "string" || job.cluster.length === 0) return "cluster must be a non-empty string";
  if (typeof job.at !== "string" || Number.isNaN(Date.parse(job.at))) return "at must be an ISO-8601 time";
  if (job.traceparent !== undefined && typeof job.traceparent !== "string") return "traceparent must be a string";
  return undefined;
}

function connect(connection: string | Redis, name: string): { client: Redis; owned: boolean } {
  return typeof connection === "string"
    ? { client: createRedis(connection, { forBullMQ: true, name }), owned: true }
    : { client: connection, owned: false };
}

export function createEvaluationQueue(opts: EvaluationQueueOptions): EvaluationQueue {
  const { client, owned } = connect(opts.connection, "meshtune-queue");
  const queue = new Queue<EvaluationJob>(QUEUE_NAMES.evaluate, {
    connection: client,
    prefix: redisKeys(opts.prefix).queuePrefix(),
    defaultJobOptions: {
      // An evaluation is superseded by the next window, so a couple of quick retries are
      // enough; finished jobs are kept only briefly (for state() and debugging).
      attempts: 2,
      backoff: { type: "exponential", delay: 200 },
      removeOnComplete: { age: 3_600, count: 1_000 },
      // Failed jobs bounded by count too: by age alone a cluster failing every evaluation kept
      // 86,400 job hashes a day per cluster (issue #14, bounded-state audit).
      removeOnFail: { age: 24 * 3_600, count: 5_000 },
    },
  });
  return {
    async enqueue(job) {
      const problem = invalid(job);
      if (problem) return { ok: false, retryable: false, error: `invalid evaluation job: ${problem}` };
      const jobId = evaluationJobId(job);
      try {
        const data: EvaluationJob = { cluster: job.cluster, at: job.at };
        if (job.traceparent) data.traceparent = job.traceparent;
        await queue.add("evaluate", data, { jobId });
        return { ok: true, value: { jobId } };
      } catch (err) {
        return { ok: false, retryable: true, error: `enqueue ${jobId}: ${errorMessage(err)}` };
      }
    },
    state: (jobId) => queue.getJobState(jobId),
    async close() {
      await queue.close();
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}

export interface EvaluationJobMeta {
  id: string;
  /** 1 on the first try. */
  attempt: number;
}

export type EvaluationHandler = (job: EvaluationJob, meta: EvaluationJobMeta) => Promise<void>;

export interface EvaluationWorkerOptions extends EvaluationQueueOptions {
  handler: EvaluationHandler;
  /** Jobs handled at once by this worker; evaluations are CPU-light and I/O-bound. Default 4. */
  concurrency?: number;
  logger?: Logger;
}

export type WorkerEvent =
  | { type: "completed"; jobId: string; job: EvaluationJob }
  | { type: "failed"; jobId: string; job: EvaluationJob; error: string; willRetry: boolean };

export interface EvaluationWorker {
  /** Resolves once the worker's Redis connection is up. */
  ready(): Promise<void>;
  /** Completed and failed jobs, for metrics and tests; returns the unsubscribe handle. */
  onEvent(listener: (event: WorkerEvent) => void): () => void;
  /** Waits for running jobs to finish, then disconnects. */
  close(): Promise<void>;
}

export function createEvaluationWorker(opts: EvaluationWorkerOptions): EvaluationWorker {
  const logger = opts.logger ?? defaultLogger();
  const { client, owned } = connect(opts.connection, "meshtune-worker");
  const listeners = new Set<(event: WorkerEvent) => void>();
  const emit = (event: WorkerEvent) => {
    for (const l of listeners) l(event);
  };
  const worker = new Worker<EvaluationJob>(
    QUEUE_NAMES.evaluate,
    async (job: Job<EvaluationJob>) => {
      await opts.handler(job.data, { id: job.id ?? "", attempt: job.attemptsMade + 1 });
    },
    {
      connection: client,
      prefix: redisKeys(opts.prefix).queuePrefix(),
      concurrency: opts.concurrency ?? 4,
      // A worker killed mid-job leaves the job active until its lock lapses and a stalled check
      // runs: BullMQ's 30 s + 30 s defaults kept a killed worker's evaluation unretried for up to
      // a minute (issue #14). Evaluations take ~1.6 s at p99 (docs/operations.md) and the lock is
      // renewed every lockDuration/2, so 10 s + 5 s still never steals a live job.
      lockDuration: 10_000,
      stalledInterval: 5_000,
    },
  );
  worker.on("completed", (job) => emit({ type: "completed", jobId: job.id ?? "", job: job.data }));
  worker.on("failed", (job, err) => {
    if (!job) return;
    const willRetry = job.attemptsMade < (job.opts.attempts ?? 1);
    logger.warn({ jobId: job.id, err, willRetry }, "evaluation job failed");
    emit({ type: "failed", jobId: job.id ?? "", job: job.data, error: errorMessage(err), willRetry });
  });
  worker.on("error", (err) => logger.error({ err }, "evaluation worker error"));
  return {
    async ready() {
      await worker.waitUntilReady();
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await worker.close();
      listeners.clear();
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}
