/**
 * The tuner traces itself (issue #13; docs/decisions/0018-tuner-tracing.md): one OTLP request
 * that carries a warm-up failure of one endpoint makes the one-process tuner (real Redis, real
 * BullMQ) eject it, and a fake proxy ACKs the new version. The spans go to an in-memory exporter
 * handed to startTuner, and the test checks the one trace an SRE would open:
 *
 *   meshtune.collector.export (SERVER, the POST /v1/traces that carried the signal)
 *   └─ meshtune.engine.evaluate (CONSUMER, the BullMQ job; cluster, at, decisions)
 *      ├─ meshtune.engine.read
 *      ├─ meshtune.engine.rules
 *      │  └─ meshtune.engine.rule (rule fleet-eject; the decision's traceparent names it)
 *      │     └─ meshtune.actuator.publish (fold, commit, publish of the version)
 *      │        └─ meshtune.actuator.ack (proxy id, status ACK)
 *      └─ meshtune.engine.commit
 */
import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@meshtune/adapters";
import { type ConfigAck, type Decision, redisChannels, redisKeys } from "@meshtune/contracts";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Closer, requireRedis, waitFor } from "../../../packages/adapters/test/services.js";
import { attemptsMetric, metricsRequest, tracesRequest, warmupFailureSpan } from "../../collector/test/payloads.js";
import { startTuner, type Tuner } from "../src/tuner.js";

const cluster = `trace-${randomUUID().slice(0, 8)}`;
const prefix = `mt-test-trace-${randomUUID().slice(0, 8)}`;
const keys = redisKeys(prefix);
const proxy = "proxy-a";
const endpoints = ["10.0.0.1:443", "10.0.0.2:443", "10.0.0.3:443"];
const exporter = new InMemorySpanExporter();
const closer = new Closer();
let tuner: Tuner;
let redis: Redis;

async function post(path: string, body: unknown): Promise<void> {
  const r = await request(`${tuner.collectorUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await r.body.text();
  expect(r.statusCode).toBe(200);
}

/** What a proxy does when it applied a version (services/proxy control client). */
async function ack(version: number): Promise<void> {
  const a: ConfigAck = { cluster, proxyId: proxy, version, status: "ACK", at: Date.now() };
  const json = JSON.stringify(a);
  await redis
    .multi()
    .hset(keys.acks(cluster), proxy, json)
    .hset(keys.convergence(cluster, version), proxy, json)
    .exec();
  await redis.publish(redisChannels(prefix).acks(cluster), json);
}

async function readDecisions(): Promise<Decision[]> {
  const entries = await redis.xrange(keys.decisions(cluster), "-", "+");
  return entries.map(([, f]) => JSON.parse(f[f.indexOf("d") + 1] ?? "{}") as Decision);
}

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const traceOf = (s: ReadableSpan) => s.spanContext().traceId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

beforeAll(async () => {
  const redisUrl = await requireRedis();
  redis = createRedis(redisUrl, { name: "tuner-trace-test" });
  closer.defer(() => redis.quit());
  tuner = await startTuner({
    redisUrl,
    prefix,
    // Interval evaluations every minute: the fast signal's job is the one that decides.
    evaluationIntervalMs: 60_000,
    logLevel: "error",
    tracing: { spanProcessors: [new SimpleSpanProcessor({ exporter })] },
  });
  closer.add(tuner);
});

afterAll(async () => {
  await closer.closeAll();
  // BullMQ, windows, decisions, snapshots: everything under this test's prefix goes.
  const c = createRedis(await requireRedis(), { name: "tuner-trace-cleanup" });
  const left = await c.keys(`${prefix}*`);
  if (left.length > 0) await c.del(...left);
  await c.quit();
});

describe("the tuner's own trace of a decision", () => {
  it("runs from the OTLP request that carried the signal through the job and the rule to the publish and the ACK", async () => {
    const now = Date.now();
    // The cluster's endpoints, all healthy (the ejection guardrails need more than one): two
    // cumulative points per endpoint, since the collector counts the difference between them.
    for (const [value, timeMs] of [
      [10, now - 2_000],
      [60, now - 1_000],
    ] as const) {
      const points = endpoints.map((endpoint) => ({
        cluster,
        endpoint,
        statusClass: "2xx",
        value,
        startMs: now - 10_000,
        timeMs,
      }));
      await post("/v1/metrics", metricsRequest(proxy, [attemptsMetric(points)]));
    }
    // One warm-up failure of the first endpoint: a fast signal, evaluated at once.
    await post(
      "/v1/traces",
      tracesRequest(proxy, [warmupFailureSpan({ cluster, endpoint: endpoints[0]!, atMs: now })]),
    );

    let version = 0;
    await waitFor("a version published", async () => {
      version = Number((await redis.get(keys.snapshotVersion(cluster))) ?? 0);
      return version >= 1;
    }).catch(async (err) => {
      // Say what the engine decided instead (a guardrail, no ejection at all, ...).
      throw new Error(`${err}; decisions: ${JSON.stringify(await readDecisions())}`);
    });
    // The actuator subscribes to the ACK channel as it follows the cluster: ACK until heard.
    await waitFor("an ACK span", async () => {
      await ack(version);
      await new Promise((r) => setTimeout(r, 100));
      return named("meshtune.actuator.ack").length > 0;
    });

    const eject = (await readDecisions()).find((d) => d.rule === "fleet-eject" && d.endpoint === endpoints[0]);
    expect(eject?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const rule = named("meshtune.engine.rule").find((s) => s.attributes["meshtune.rule"] === "fleet-eject");
    expect(rule).toBeDefined();
    const traceId = traceOf(rule!);
    const inTrace = spans().filter((s) => traceOf(s) === traceId);
    const one = (name: string) => {
      const found = inTrace.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    // The decision names its rule span: that is how the actuator continues the trace.
    expect(eject!.traceparent).toBe(`00-${traceId}-${idOf(rule!)}-01`);

    const request_ = one("meshtune.collector.export");
    expect(request_.kind).toBe(SpanKind.SERVER);
    expect(request_.attributes["url.path"]).toBe("/v1/traces");
    expect(request_.attributes["http.response.status_code"]).toBe(200);
    expect(parentOf(request_)).toBeUndefined();

    const job = one("meshtune.engine.evaluate");
    expect(job.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(job)).toBe(idOf(request_));
    expect(job.attributes["meshtune.cluster"]).toBe(cluster);
    expect(job.attributes["meshtune.result"]).toBe("evaluated");
    expect(job.attributes["meshtune.decisions"]).toBeGreaterThanOrEqual(1);

    for (const child of ["meshtune.engine.read", "meshtune.engine.rules", "meshtune.engine.commit"])
      expect(parentOf(one(child)), child).toBe(idOf(job));
    expect(parentOf(rule!)).toBe(idOf(one("meshtune.engine.rules")));

    const publish = one("meshtune.actuator.publish");
    expect(parentOf(publish)).toBe(idOf(rule!));
    expect(publish.attributes["meshtune.cluster"]).toBe(cluster);
    expect(publish.attributes["meshtune.config_version"]).toBe(version);

    const acks = inTrace.filter((s) => s.name === "meshtune.actuator.ack");
    expect(acks.length).toBeGreaterThanOrEqual(1);
    for (const a of acks) {
      expect(parentOf(a)).toBe(idOf(publish));
      expect(a.attributes["meshtune.proxy_id"]).toBe(proxy);
      expect(a.attributes["meshtune.ack_status"]).toBe("ACK");
      expect(a.attributes["meshtune.config_version"]).toBe(version);
    }
  });
});
