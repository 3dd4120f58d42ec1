import { afterAll, describe, expect, it } from "vitest";
import {
  createEvaluationQueue,
  createEvaluationWorker,
  createRedis,
  type EvaluationJob,
  evaluationJobId,
  silentLogger,
  type WorkerEvent,
} from "../src/index.js";
import { Closer, randomName, requireRedis, waitFor } from "./services.js";

const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);

describe("BullMQ evaluation queue (real Redis)", { timeout: 60_000 }, () => {
  it("enqueue -> worker handles -> completed", async () => {
    const url = await requireRedis();
    const prefix = randomName("q");
    const queue = closer.add(createEvaluationQueue({ connection: url, prefix }));
    const handled: EvaluationJob[] = [];
    const worker = closer.add(
      createEvaluationWorker({
        connection: url,
        prefix,
        concurrency: 2,
        handler: async (job, meta) => {
          expect(meta.attempt).toBe(1);
          handled.push(job);
        },
      }),
    );
    const events: WorkerEvent[] = [];
    worker.onEvent((e) => events.push(e));
    await worker.ready();

    const job = { cluster: "checkout", at: "2026-01-01T00:00:10.000Z" };
    const res = await queue.enqueue(job);
    expect(res).toEqual({ ok: true, value: { jobId: evaluationJobId(job) } });
    await waitFor("the completed event", () => events.length === 1, 10_000);

    expect(handled).toEqual([job]);
    expect(events[0]).toEqual({ type: "completed", jobId: evaluationJobId(job), job });
    expect(await queue.state(evaluationJobId(job))).toBe("completed");
  });

  it("enqueues one evaluation per (cluster, at) and retries a failed one", async () => {
    const url = await requireRedis();
    const prefix = randomName("q");
    // A caller-owned connection, shared by queue and worker (the worker duplicates it for blocking reads).
    const connection = createRedis(url, { forBullMQ: true });
    closer.defer(() => connection.quit());
    const queue = closer.add(createEvaluationQueue({ connection, prefix }));
    let calls = 0;
    const worker = closer.add(
      createEvaluationWorker({
        connection,
        prefix,
        logger: silentLogger(), // the first attempt fails on purpose
        handler: async (_job, meta) => {
          calls++;
          if (meta.attempt === 1) throw new Error("window not complete yet");
        },
      }),
    );
    const events: WorkerEvent[] = [];
    worker.onEvent((e) => events.push(e));
    await worker.ready();

    const job = { cluster: "payments", at: "2026-01-01T00:01:00.000Z" };
    const [a, b] = await Promise.all([queue.enqueue(job), queue.enqueue({ ...job })]);
    expect(a.ok && b.ok).toBe(true);
    await waitFor("the retried job to complete", () => events.some((e) => e.type === "completed"), 10_000);
    expect(calls).toBe(2); // the duplicate was not enqueued again; the failure was retried once
    expect(events.map((e) => e.type)).toEqual(["failed", "completed"]);
    expect(events[0]).toMatchObject({ type: "failed", willRetry: true, error: "window not complete yet" });
  });

  it("rejects a malformed job without touching Redis", async () => {
    const url = await requireRedis();
    const queue = closer.add(createEvaluationQueue({ connection: url, prefix: randomName("q") }));
    const res = await queue.enqueue({ cluster: "", at: "yesterday" });
    expect(res).toMatchObject({ ok: false, retryable: false });
  });
});
