/**
 * The OTLP/HTTP receiver as an exporter sees it (OTLP spec, "OTLP/HTTP"): encodings, gzip,
 * partial success, the error statuses with their Status bodies and Retry-After, fast signals
 * and evaluation triggers, /live /ready /metrics. Real Redis; a fake evaluation queue records
 * the jobs.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import {
  createRedis,
  type EvaluationJob,
  type EvaluationQueue,
  readClusterWindows,
  silentLogger,
} from "@meshtune/adapters";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/http/server.js";
import { startCollector } from "../src/index.js";
import { CollectorMetrics } from "../src/metrics.js";
import {
  attemptsMetric,
  configNackSpan,
  decodeResponse,
  latencyMetric,
  metricsRequest,
  toProtobuf,
  tracesRequest,
  warmupFailureSpan,
} from "./payloads.js";
import { Closer, randomName, requireRedis, waitFor } from "./services.js";

const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);
const client = new Agent({ connections: 8 });
closer.defer(() => client.close());

function fakeQueue() {
  const jobs: EvaluationJob[] = [];
  const queue: EvaluationQueue = {
    async enqueue(job) {
      jobs.push(job);
      return { ok: true, value: { jobId: `${job.cluster}@${job.at}` } };
    },
    state: async () => "unknown",
    close: async () => {},
  };
  return { jobs, queue };
}

async function collector(extra: Partial<Parameters<typeof startCollector>[0]> = {}) {
  const url = await requireRedis();
  const prefix = randomName("rx");
  const q = fakeQueue();
  const c = await startCollector({
    host: "127.0.0.1",
    port: 0,
    redis: url,
    prefix,
    logger: silentLogger(),
    evaluationQueue: q.queue,
    processMetrics: false,
    evaluationIntervalMs: 200,
    ...extra,
  });
  closer.defer(() => c.close());
  const redis = createRedis(url);
  closer.defer(() => redis.quit());
  const windows = async (cluster: string) => {
    const w = await readClusterWindows(redis, { cluster, at: Date.now() + 1_000, prefix });
    if (!w.ok) throw new Error(w.error);
    return w.value;
  };
  return { c, jobs: q.jobs, windows, prefix, redis };
}

async function post(base: string, path: string, body: Uint8Array | string, headers: Record<string, string>) {
  const res = await request(`${base}${path}`, { method: "POST", body, headers, dispatcher: client });
  const bytes = new Uint8Array(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, text: Buffer.from(bytes).toString("utf8") };
}

const JSON_CT = { "content-type": "application/json" };
const PB_CT = { "content-type": "application/x-protobuf" };
const EP = "10.1.1.1:443";

describe("OTLP/HTTP receiver", () => {
  it("accepts JSON and gzip protobuf; rejected points come back as a partial success", async () => {
    const { c, windows } = await collector();
    const now = Date.now();
    const json = metricsRequest("px", [
      attemptsMetric([
        { cluster: "a", endpoint: EP, statusClass: "2xx", value: 5, startMs: now - 5_000, timeMs: now - 2_000 },
      ]),
      { name: "some_other_exporters_metric", gauge: { dataPoints: [{ asDouble: 1 }] } },
    ]);
    const r1 = await post(c.url, "/v1/metrics", JSON.stringify(json), JSON_CT);
    expect(r1.status).toBe(200);
    expect(JSON.parse(r1.text)).toEqual({}); // unknown metrics are ignored, not rejected

    const pb = toProtobuf(
      "metrics",
      metricsRequest("px", [
        attemptsMetric([
          { cluster: "a", endpoint: EP, statusClass: "2xx", value: 9, startMs: now - 5_000, timeMs: now - 1_000 },
        ]),
        latencyMetric({
          cluster: "a",
          endpoint: EP,
          startMs: now - 5_000,
          timeMs: now - 1_000,
          counts: [1, 2],
          bounds: [0.1],
        }),
      ]),
    );
    const r2 = await post(c.url, "/v1/metrics", gzipSync(pb), { ...PB_CT, "content-encoding": "gzip" });
    expect(r2.status).toBe(200);
    expect(r2.headers["content-type"]).toBe("application/x-protobuf");
    const resp = decodeResponse("metrics", r2.bytes) as {
      partialSuccess: { rejectedDataPoints: unknown; errorMessage: string };
    };
    expect(Number(resp.partialSuccess.rejectedDataPoints)).toBe(1);
    expect(resp.partialSuccess.errorMessage).toContain("bad_histogram");

    const w = await windows("a");
    const ep = w.views.long.find((e) => e.endpoint === EP)!;
    expect(ep.attempts).toEqual({ "2xx": 9 });
    expect(ep.latency.count).toBe(0);
  });

  it("answers 415, 400, 413 and 405 with a reason, and keeps serving", async () => {
    const { c } = await collector({ maxBodyBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 });
    expect((await post(c.url, "/v1/metrics", "x", { "content-type": "text/plain" })).status).toBe(415);
    expect((await post(c.url, "/v1/metrics", "{}", { ...JSON_CT, "content-encoding": "br" })).status).toBe(415);
    const bad = await post(c.url, "/v1/metrics", "{not json", JSON_CT);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ code: 3 });
    expect(JSON.parse(bad.text).message).toMatch(/malformed json/);
    const wrong = await post(c.url, "/v1/metrics", JSON.stringify({ resourceMetrics: "nope" }), JSON_CT);
    expect(wrong.status).toBe(400);
    expect((await post(c.url, "/v1/traces", new Uint8Array([0x0a, 0xff, 0xff, 0x01]), PB_CT)).status).toBe(400);
    const gz = await post(c.url, "/v1/metrics", Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), {
      ...PB_CT,
      "content-encoding": "gzip",
    });
    expect(gz.status).toBe(400);
    expect((await post(c.url, "/v1/metrics", new Uint8Array(65 * 1024), PB_CT)).status).toBe(413);
    // A gzip bomb: 200 KiB on the wire would be 64 MiB inflated; it stops at the limit.
    const bomb = gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await post(c.url, "/v1/metrics", bomb, { ...PB_CT, "content-encoding": "gzip" })).status).toBe(413);
    const get = await request(`${c.url}/v1/metrics`, { dispatcher: client });
    await get.body.text();
    expect(get.statusCode).toBe(405);
    const live = await request(`${c.url}/live`, { dispatcher: client });
    expect([live.statusCode, await live.body.text()]).toEqual([200, "ok\n"]);
    const ready = await request(`${c.url}/ready`, { dispatcher: client });
    expect([ready.statusCode, await ready.body.text()]).toEqual([200, "ready\n"]);
    const metrics = await request(`${c.url}/metrics`, { dispatcher: client });
    const text = await metrics.body.text();
    expect(text).toMatch(/meshtune_collector_rejected_total\{what="requests",reason="too_large"\} 2/);
    expect(text).toMatch(/meshtune_collector_decode_errors_total\{encoding="gzip"\} 1/);
  });

  it("answers 429 with Retry-After above the concurrency limit", async () => {
    const { c } = await collector({ maxConcurrent: 1 });
    // One request whose body never ends holds the only slot.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const body = Readable.from(
      (async function* () {
        yield Buffer.from("{");
        await held;
        yield Buffer.from("}");
      })(),
    );
    const own = new Agent();
    closer.defer(() => own.close());
    const first = request(`${c.url}/v1/metrics`, { method: "POST", body, headers: JSON_CT, dispatcher: own });
    await waitFor("the first request to be in flight", async () => {
      const m = await request(`${c.url}/metrics`, { dispatcher: client });
      return /meshtune_collector_requests_in_flight 1/.test(await m.body.text());
    });
    const second = await post(c.url, "/v1/metrics", "{}", JSON_CT);
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("1");
    release();
    const r = await first;
    await r.body.text();
    expect(r.statusCode).toBe(200);
  });

  it("answers 429 when the bytes in flight would pass the memory bound", async () => {
    // The handler alone, with an ingest that holds the first body until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let entered = 0;
    const handler = createHandler({
      limits: { maxBytes: 8 << 20, maxDecompressedBytes: 8 << 20 },
      maxConcurrent: 8,
      maxInFlightBytes: 1_500_000,
      metrics: new CollectorMetrics({ processMetrics: false }),
      logger: silentLogger(),
      ingest: async () => {
        entered++;
        await held;
        return { status: 200, rejected: 0, message: "" };
      },
      ready: async () => true,
      retryAfterSec: 2,
    });
    const server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closer.defer(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const big = "x".repeat(1_000_000);
    const first = post(base, "/v1/metrics", big, JSON_CT);
    await waitFor("the first body in ingest", () => entered === 1);
    const second = await post(base, "/v1/metrics", big, JSON_CT);
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("2");
    release();
    expect((await first).status).toBe(200);
    // Once the first is done, the same body fits again.
    expect((await post(base, "/v1/metrics", big, JSON_CT)).status).toBe(200);
  });

  it("close() finishes the request in flight, then enqueues the last interval", async () => {
    const { c, jobs, windows } = await collector({ evaluationIntervalMs: 60_000 });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const now = Date.now();
    const body = JSON.stringify(
      metricsRequest("px", [
        attemptsMetric([
          { cluster: "drain", endpoint: EP, statusClass: "2xx", value: 7, startMs: now - 2_000, timeMs: now - 1_000 },
        ]),
      ]),
    );
    const own = new Agent();
    closer.defer(() => own.close());
    const inFlight = request(`${c.url}/v1/metrics`, {
      method: "POST",
      body: Readable.from(
        (async function* () {
          yield Buffer.from(body.slice(0, 10));
          await held;
          yield Buffer.from(body.slice(10));
        })(),
      ),
      headers: JSON_CT,
      dispatcher: own,
    });
    await waitFor("the request to be in flight", async () => {
      const m = await request(`${c.url}/metrics`, { dispatcher: client });
      return /meshtune_collector_requests_in_flight 1/.test(await m.body.text());
    });
    let closed = false;
    const closing = c.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    release();
    const r = await inFlight;
    await r.body.text();
    expect(r.statusCode).toBe(200);
    await closing;
    expect((await windows("drain")).views.long[0]!.attempts).toEqual({ "2xx": 7 });
    // The interval in progress (60 s long here) was flushed on close.
    expect(jobs.map((j) => j.cluster)).toContain("drain");
  });

  it("answers 503 with Retry-After while Redis is unreachable, and /ready says so", async () => {
    const c = await startCollector({
      host: "127.0.0.1",
      port: 0,
      redis: "redis://127.0.0.1:1",
      logger: silentLogger(),
      evaluationQueue: false,
      processMetrics: false,
    });
    closer.defer(() => c.close());
    const now = Date.now();
    const json = metricsRequest("px", [
      attemptsMetric([{ cluster: "a", endpoint: EP, statusClass: "2xx", value: 1, startMs: now - 1_000, timeMs: now }]),
    ]);
    const r = await post(c.url, "/v1/metrics", JSON.stringify(json), JSON_CT);
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBe("1");
    const ready = await request(`${c.url}/ready`, { dispatcher: client });
    await ready.body.text();
    expect(ready.statusCode).toBe(503);
  });

  it("stores fast signals with their attributes and enqueues evaluations: at once, and per interval", async () => {
    const { c, jobs, windows } = await collector();
    const now = Date.now();
    // The proxy reported for cluster "b" first, so its proxy-wide NACK is filed under "b".
    const m = metricsRequest("px", [
      attemptsMetric([
        { cluster: "b", endpoint: EP, statusClass: "2xx", value: 1, startMs: now - 1_000, timeMs: now - 500 },
      ]),
    ]);
    expect((await post(c.url, "/v1/metrics", JSON.stringify(m), JSON_CT)).status).toBe(200);
    const t = tracesRequest("px", [
      warmupFailureSpan({ cluster: "b", endpoint: EP, atMs: now - 100 }),
      configNackSpan(now - 50),
    ]);
    const r = await post(c.url, "/v1/traces", toProtobuf("traces", t), PB_CT);
    expect(r.status).toBe(200);
    const w = await windows("b");
    expect(w.signals.map((s) => [s.kind, s.proxy, s.endpoint])).toEqual([
      ["warmup_failure", "px", EP],
      ["config_nack", "px", undefined],
    ]);
    expect(w.signals[0]!.attributes["meshtune.warmup.outcome"]).toBe("connect_failed");
    expect(w.signals[1]!.attributes["meshtune.config.version"]).toBe(7);
    // One immediate job for the signals, and the interval job with `at` on an interval boundary.
    await waitFor("the interval job", () => jobs.filter((j) => Date.parse(j.at) % 200 === 0).length >= 1, 5_000);
    expect(jobs.every((j) => j.cluster === "b")).toBe(true);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
  });
});
