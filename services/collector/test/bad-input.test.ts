/**
 * Bad input, property-based (fast-check): truncated and random protobuf, wrong JSON types,
 * broken gzip, wrong content types, huge attribute counts and histograms whose buckets do not
 * match their bounds. Each gets its status (never a 5xx), the collector keeps serving, and the
 * windows it had stored stay exactly as they were.
 */
import { gzipSync } from "node:zlib";
import { createRedis, readClusterWindows, silentLogger } from "@meshtune/adapters";
import fc from "fast-check";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "../src/index.js";
import {
  attemptsMetric,
  latencyMetric,
  metricsRequest,
  toProtobuf,
  tracesRequest,
  warmupFailureSpan,
} from "./payloads.js";
import { Closer, randomName, requireRedis } from "./services.js";

const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);
const client = new Agent({ connections: 8 });
closer.defer(() => client.close());

const EP = "10.2.2.2:443";
let c: RunningCollector;
let prefix: string;
let redis: ReturnType<typeof createRedis>;
let baseline: string;
const now = Date.now();
const good = metricsRequest("good", [
  attemptsMetric([
    { cluster: "fz", endpoint: EP, statusClass: "2xx", value: 42, startMs: now - 5_000, timeMs: now - 2_000 },
  ]),
  latencyMetric({ cluster: "fz", endpoint: EP, startMs: now - 5_000, timeMs: now - 2_000, counts: [0, 3, 4] }),
]);
const goodPb = toProtobuf("metrics", good);

async function post(path: string, body: Uint8Array | string, headers: Record<string, string>) {
  const res = await request(`${c.url}${path}`, { method: "POST", body, headers, dispatcher: client });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

async function windowsOfFz(): Promise<string> {
  const w = await readClusterWindows(redis, { cluster: "fz", at: now + 1_000, prefix });
  if (!w.ok) throw new Error(w.error);
  return JSON.stringify(w.value.views);
}

beforeAll(async () => {
  const url = await requireRedis();
  prefix = randomName("fuzz");
  c = await startCollector({
    host: "127.0.0.1",
    port: 0,
    redis: url,
    prefix,
    logger: silentLogger(),
    evaluationQueue: false,
    processMetrics: false,
  });
  closer.defer(() => c.close());
  redis = createRedis(url);
  closer.defer(() => redis.quit());
  const r = await post("/v1/metrics", goodPb, { "content-type": "application/x-protobuf" });
  expect(r.status).toBe(200);
  baseline = await windowsOfFz();
  expect(baseline).toContain('"2xx":42');
});

afterAll(async () => {
  // Whatever came in, the stored windows are the good request's and the collector still serves.
  if (!c) return;
  expect(await windowsOfFz()).toBe(baseline);
  const live = await request(`${c.url}/live`, { dispatcher: client });
  await live.body.text();
  expect(live.statusCode).toBe(200);
});

const PB = { "content-type": "application/x-protobuf" };
const JSON_CT = { "content-type": "application/json" };
const runs = { numRuns: 60 };

describe("bad input never crashes the collector nor corrupts windows", () => {
  it("truncated protobuf: 200 (a prefix can be a valid message) or 400", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: goodPb.length - 1 }), async (cut) => {
        const r = await post("/v1/metrics", goodPb.subarray(0, cut), PB);
        expect([200, 400]).toContain(r.status);
      }),
      runs,
    );
  });

  it("random bytes as protobuf metrics and traces: 200 or 400", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.boolean(), async (bytes, traces) => {
        const r = await post(traces ? "/v1/traces" : "/v1/metrics", bytes, PB);
        expect([200, 400]).toContain(r.status);
      }),
      runs,
    );
  });

  it("JSON of the wrong types: 200 or 400", async () => {
    const value = fc.oneof(fc.anything(), fc.jsonValue());
    const shaped = fc.record({
      resourceMetrics: fc.oneof(value, fc.array(fc.record({ resource: value, scopeMetrics: value }))),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(value, shaped), async (obj) => {
        const body = JSON.stringify(obj) ?? "null";
        const r = await post("/v1/metrics", body, JSON_CT);
        expect([200, 400]).toContain(r.status);
      }),
      runs,
    );
  });

  it("broken gzip: 400; wrong content types: 415", async () => {
    const gz = gzipSync(goodPb);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.integer({ min: 0, max: gz.length - 1 }),
        fc.boolean(),
        async (bytes, cut, random) => {
          const broken = random ? Buffer.concat([Buffer.from([0x1f, 0x8b]), bytes]) : gz.subarray(0, cut);
          const r = await post("/v1/metrics", broken, { ...PB, "content-encoding": "gzip" });
          expect(r.status).toBe(400);
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
        async (ct) => {
          const r = await post("/v1/metrics", goodPb, { "content-type": ct });
          const known = ["application/x-protobuf", "application/json"].includes(ct.split(";")[0]!.trim().toLowerCase());
          expect(r.status).toBe(known ? expect.any(Number) : 415);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("histograms whose buckets do not match their bounds are rejected as a partial success", async () => {
    const bounds = fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 20 });
    const counts = fc.array(fc.nat(1_000), { maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(bounds, counts, fc.option(fc.nat(10_000)), async (b, n, count) => {
        const metric = latencyMetric({
          cluster: "fz",
          endpoint: EP,
          startMs: now - 5_000,
          timeMs: now - 1_000,
          counts: n,
          bounds: b,
          ...(count === null ? {} : { count }),
        });
        const r = await post("/v1/metrics", JSON.stringify(metricsRequest("fuzzer", [metric])), JSON_CT);
        expect(r.status).toBe(200);
        expect(JSON.parse(r.text).partialSuccess.rejectedDataPoints).toBe(1);
      }),
      runs,
    );
  });

  it("a span with 10 000 attributes is stored with a bounded attribute set", async () => {
    const extra = Array.from({ length: 10_000 }, (_, i) => ({
      key: `k${i}`,
      value: { stringValue: "v".repeat(i < 10 ? 5_000 : 20) },
    }));
    const body = toProtobuf(
      "traces",
      tracesRequest("wide", [warmupFailureSpan({ cluster: "wide", endpoint: EP, atMs: now, extra })]),
    );
    const r = await post("/v1/traces", body, PB);
    expect(r.status).toBe(200);
    const w = await readClusterWindows(redis, { cluster: "wide", at: now + 1_000, prefix });
    if (!w.ok) throw new Error(w.error);
    const s = w.value.signals[0]!;
    expect(Object.keys(s.attributes).length).toBeLessThanOrEqual(64);
    expect(Math.max(...Object.values(s.attributes).map((v) => String(v).length))).toBeLessThanOrEqual(1_024);
  });
});
