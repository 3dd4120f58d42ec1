/**
 * Hostile input on the OTLP/HTTP endpoints (issue #14), property-based with fast-check, beside
 * bad-input.test.ts (which checks the windows stay intact): random methods, paths, content types
 * and encodings, and bodies — random bytes, a valid export with random bytes flipped or cut,
 * gzip of random data, deeply nested and random JSON. Every request gets an answer below 500
 * (503/429 only as back-pressure with Retry-After), and the collector keeps serving.
 * MESHTUNE_FUZZ_RUNS sets the case count (default 200); MESHTUNE_FUZZ_OUT collects the counts.
 */
import { appendFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { silentLogger } from "@meshtune/adapters";
import fc from "fast-check";
import { Agent, request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "../src/index.js";
import { attemptsMetric, metricsRequest, toProtobuf, tracesRequest, warmupFailureSpan } from "./payloads.js";
import { Closer, randomName, requireRedis } from "./services.js";

const RUNS = Number(process.env.MESHTUNE_FUZZ_RUNS ?? 200);
const closer = new Closer();
const client = new Agent({ connections: 4 });
let c: RunningCollector;
const now = Date.now();
const goodMetrics = toProtobuf(
  "metrics",
  metricsRequest("fz", [
    attemptsMetric([
      {
        cluster: "fz",
        endpoint: "10.9.9.9:443",
        statusClass: "2xx",
        value: 1,
        startMs: now - 5_000,
        timeMs: now - 1_000,
      },
    ]),
  ]),
);
const goodTraces = toProtobuf(
  "traces",
  tracesRequest("fz", [warmupFailureSpan({ cluster: "fz", endpoint: "10.9.9.9:443", atMs: now })]),
);

beforeAll(async () => {
  c = await startCollector({
    host: "127.0.0.1",
    port: 0,
    redis: await requireRedis(),
    prefix: randomName("fuzz-otlp"),
    logger: silentLogger(),
    evaluationQueue: false,
    processMetrics: false,
  });
  closer.defer(() => c.close());
});
afterAll(async () => {
  await client.close();
  await closer.closeAll();
});

const flip = (buf: Uint8Array) =>
  fc
    .array(fc.tuple(fc.nat(buf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
    .map((edits) => {
      const b = Buffer.from(buf);
      for (const [i, v] of edits) b[i] = v;
      return b;
    });
const cut = (buf: Uint8Array) => fc.nat(buf.length).map((n) => Buffer.from(buf).subarray(0, n));
const deepJson = fc.integer({ min: 1, max: 20_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  flip(goodMetrics),
  flip(goodTraces),
  cut(goodMetrics),
  fc.uint8Array({ maxLength: 256 }).map((b) => gzipSync(b)),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
  deepJson.map((s) => Buffer.from(s)),
  fc.constant(Buffer.alloc(0)),
);
const contentType = fc.oneof(
  { arbitrary: fc.constantFrom("application/x-protobuf", "application/json"), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      "application/protobuf; charset=utf-8",
      "text/plain",
      "",
      "application/json; charset=latin1",
      "multipart/form-data; boundary=x",
    ),
    weight: 1,
  },
);
const encoding = fc.oneof(
  { arbitrary: fc.constantFrom(undefined, "gzip"), weight: 6 },
  { arbitrary: fc.constantFrom("deflate", "br", "identity", "gzip, gzip", "zstd"), weight: 1 },
);

it("every OTLP request gets an answer below 500 and the collector keeps serving", async () => {
  const statuses: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        { arbitrary: fc.constant("POST"), weight: 8 },
        { arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "OPTIONS"), weight: 1 },
      ),
      fc.oneof(
        { arbitrary: fc.constantFrom("/v1/metrics", "/v1/traces"), weight: 8 },
        { arbitrary: fc.constantFrom("/v1/logs", "/", "/v1/metrics/", "/v1/metrics?x=1", "/%zz", "//v1"), weight: 1 },
      ),
      contentType,
      encoding,
      body,
      async (method, path, type, enc, b) => {
        const headers: Record<string, string> = {};
        if (type) headers["content-type"] = type;
        if (enc) headers["content-encoding"] = enc;
        const res = await request(`${c.url}${path}`, {
          method,
          headers,
          body: method === "GET" ? undefined : b,
          dispatcher: client,
        });
        await res.body.text();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 503 || res.statusCode === 429) expect(res.headers["retry-after"]).toBeDefined();
        else expect(res.statusCode, `${method} ${path} ${type} ${enc}`).toBeLessThan(500);
      },
    ),
    { numRuns: RUNS },
  );
  const live = await request(`${c.url}/live`, { dispatcher: client });
  expect(live.statusCode).toBe(200);
  await live.body.dump();
  if (process.env.MESHTUNE_FUZZ_OUT)
    appendFileSync(
      process.env.MESHTUNE_FUZZ_OUT,
      `${JSON.stringify({ target: "collector OTLP/HTTP", cases: RUNS, statuses, failures: 0 })}\n`,
    );
}, 600_000);
