/**
 * An engine worker killed mid-job (issue #14): a real `meshtune engine` process takes an
 * evaluation job and is SIGKILLed while the job is active (it waits on the cluster's lock, which
 * this test holds). A second worker process picks the stalled job up and finishes it; the
 * decision stream holds no decision twice (the decision-seen markers of services/engine/src/store.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createEvaluationQueue, createRedis, type Redis } from "@meshtune/adapters";
import { redisKeys } from "@meshtune/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireRedis } from "../packages/adapters/test/services.js";
import { CLI, stopProc } from "./faults.js";
import { Closer, freePort, waitFor } from "./helpers.js";

const closer = new Closer();
const prefix = `mt-fault-engine-${randomUUID().slice(0, 8)}`;
const CLUSTER = "api";
let redisUrl: string;
let redis: Redis;

beforeAll(async () => {
  redisUrl = await requireRedis();
  redis = createRedis(redisUrl, { name: "fault-engine-test" });
  closer.defer(() => redis.quit());
});
afterAll(() => closer.closeAll(), 60_000);

async function worker(): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      "engine",
      "--redis-url",
      redisUrl,
      "--prefix",
      prefix,
      "--address",
      `127.0.0.1:${port}`,
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  closer.defer(() => stopProc(child, "SIGKILL"));
  return child;
}

it("a job whose worker was SIGKILLed is retried by another worker, and no decision is written twice", async () => {
  const queue = createEvaluationQueue({ connection: redisUrl, prefix });
  closer.defer(() => queue.close());
  const lock = redisKeys(prefix).lock(CLUSTER, "engine");
  await redis.set(lock, "held-by-the-test", "PX", 60_000);

  const a = await worker();
  const job = await queue.enqueue({ cluster: CLUSTER, at: new Date().toISOString() });
  if (!job.ok) throw new Error(job.error);
  await waitFor("worker A takes the job", async () => (await queue.state(job.value.jobId)) === "active", 20_000);
  await stopProc(a, "SIGKILL");
  const killedAt = Date.now();
  await redis.del(lock);
  expect(await queue.state(job.value.jobId)).toBe("active"); // nobody finished it

  await worker();
  await waitFor(
    "the job retried and completed by worker B",
    async () => (await queue.state(job.value.jobId)) === "completed",
    40_000,
  );
  console.info(`[faults-engine] job retried and completed ${Date.now() - killedAt} ms after its worker was killed`);
  const ids = (await redis.xrange(redisKeys(prefix).decisions(CLUSTER), "-", "+")).map(
    ([, f]) => JSON.parse(f[1] ?? "{}").id,
  );
  expect(new Set(ids).size).toBe(ids.length);
}, 60_000);
