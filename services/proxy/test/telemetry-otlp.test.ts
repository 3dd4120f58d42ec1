/**
 * The real OTLP/HTTP exporters against a receiver in the test (node:http on 127.0.0.1:0): the
 * proxy POSTs protobuf (application/x-protobuf) to /v1/traces and /v1/metrics, and a fast
 * failure signal — a warm-up failure against a black-holed endpoint — arrives within 200 ms of
 * the event. Payloads are decoded with a minimal protobuf wire reader (OTLP field numbers from
 * opentelemetry-proto), so the assertions are on span names, times and attributes, not bytes.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ATTR, CONFIG_API_VERSION, PROXY_METRICS, PROXY_SPANS, type SimConfigInput } from "@meshtune/contracts";
import { type ClusterEvent, EgressProxy } from "@meshtune/dataplane";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { Agent, request } from "undici";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ProxyTelemetry } from "../src/telemetry/index.js";

// ---- a minimal protobuf wire-format reader ----

type Field = { no: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed64?: bigint; double?: number };

function readVarint(buf: Uint8Array, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos.i++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
  }
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const pos = { i: 0 };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (pos.i < buf.length) {
    const key = Number(readVarint(buf, pos));
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, varint: readVarint(buf, pos) });
    else if (wire === 1) {
      out.push({ no, wire, fixed64: view.getBigUint64(pos.i, true), double: view.getFloat64(pos.i, true) });
      pos.i += 8;
    } else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      out.push({ no, wire, bytes: buf.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 5) pos.i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const sub = (f: Field[], no: number) => f.filter((x) => x.no === no && x.bytes).map((x) => fields(x.bytes!));
const str = (f: Field[], no: number) => {
  const b = f.find((x) => x.no === no)?.bytes;
  return b ? Buffer.from(b).toString("utf8") : undefined;
};
const hex = (f: Field[], no: number) => {
  const b = f.find((x) => x.no === no)?.bytes;
  return b ? Buffer.from(b).toString("hex") : undefined;
};

/** KeyValue list (common.proto): key = 1, value = 2 (AnyValue: string 1, bool 2, int 3, double 4). */
function attributes(list: Field[][]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list) {
    const key = str(kv, 1)!;
    const v = sub(kv, 2)[0] ?? [];
    const f = v[0];
    if (!f) continue;
    if (f.no === 1 && f.bytes) out[key] = Buffer.from(f.bytes).toString("utf8");
    else if (f.no === 2) out[key] = f.varint === 1n;
    else if (f.no === 3) out[key] = Number(BigInt.asIntN(64, f.varint ?? 0n));
    else if (f.no === 4 && f.double !== undefined) out[key] = f.double;
  }
  return out;
}

interface DecodedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  endUnixMs: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

/** ExportTraceServiceRequest: resource_spans 1 → {resource 1 → attributes 1, scope_spans 2 → spans 2}. */
function decodeTraces(body: Uint8Array): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of sub(fields(body), 1)) {
    const resource = attributes(sub(sub(rs, 1)[0] ?? [], 1));
    for (const ss of sub(rs, 2)) {
      for (const sp of sub(ss, 2)) {
        out.push({
          traceId: hex(sp, 1)!,
          spanId: hex(sp, 2)!,
          parentSpanId: hex(sp, 4),
          name: str(sp, 5)!,
          kind: Number(sp.find((x) => x.no === 6)?.varint ?? 0n),
          endUnixMs: Number((sp.find((x) => x.no === 8)?.fixed64 ?? 0n) / 1_000_000n),
          attributes: attributes(sub(sp, 9)),
          resource,
        });
      }
    }
  }
  return out;
}

/** ExportMetricsServiceRequest: resource_metrics 1 → scope_metrics 2 → metrics 2 → name 1. */
function decodeMetricNames(body: Uint8Array): string[] {
  const names: string[] = [];
  for (const rm of sub(fields(body), 1))
    for (const sm of sub(rm, 2)) for (const m of sub(sm, 2)) names.push(str(m, 1)!);
  return names;
}

// ---- the receiver ----

interface Received {
  path: string;
  contentType: string | undefined;
  at: number;
  body: Buffer;
}

async function otlpReceiver() {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        at: Date.now(),
        body: Buffer.concat(chunks),
      });
      // An empty ExportTrace/MetricsServiceResponse is an empty protobuf message.
      res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    spans: () => received.filter((r) => r.path === "/v1/traces").flatMap((r) => decodeTraces(r.body)),
  };
}

const client = new Agent({ connections: 16 });
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => client.close());

async function simulator(endpoints: SimConfigInput["endpoints"]): Promise<Simulator> {
  const s = await startSimulatorWith(endpoints);
  cleanup.push(() => s.close());
  return s;
}

async function eventually(fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("OTLP/HTTP protobuf export to a real receiver", () => {
  it("traces and metrics arrive as application/x-protobuf; a warm-up failure arrives within 200 ms", async () => {
    const rx = await otlpReceiver();
    const s = await simulator([{ name: "ok" }, { name: "hole", faults: { blackHole: true } }]);
    const telemetry = new ProxyTelemetry({
      instanceId: "otlp-proxy",
      otlpEndpoint: rx.url,
      sampleRatio: 1,
      metricsIntervalMs: 250,
    });
    // When each warm-up failure happened, as the data plane reported it.
    const failedAt: number[] = [];
    const onClusterEvent = (ev: ClusterEvent) => {
      if (ev.type === "pool" && ev.event.type === "warmup" && ev.event.outcome !== "ready") failedAt.push(Date.now());
      telemetry.onClusterEvent(ev);
    };
    const proxy = new EgressProxy({ onClusterEvent, hooks: telemetry.hooks }, "otlp-proxy");
    telemetry.attach(proxy);
    cleanup.push(async () => {
      await proxy.close();
      await telemetry.shutdown();
    });
    const cfg = {
      apiVersion: CONFIG_API_VERSION,
      kind: "ProxyConfig",
      proxy: { listener: { port: 0 }, admin: { port: 0 } },
      clusters: [
        {
          name: "api",
          discovery: {
            type: "static",
            endpoints: s.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })),
          },
          pool: { minWarm: 2 },
          warmup: { deadlineMs: 2000 },
          // The black hole accepts TCP but never answers: the on-connection health check times out.
          healthCheck: { intervalMs: 60_000, timeoutMs: 300 },
        },
      ],
    };
    expect((await proxy.applyConfig(1, cfg, "test")).status).toBe("ACK");
    await proxy.start();

    // Fast signal: every warm-up failure reached the receiver within 200 ms of the event.
    await eventually(() => failedAt.length === 2);
    await eventually(() => rx.spans().filter((x) => x.name === PROXY_SPANS.warmupFailure.name).length === 2, 1000);
    const warmupExports = rx.received.filter(
      (r) => r.path === "/v1/traces" && decodeTraces(r.body).some((x) => x.name === PROXY_SPANS.warmupFailure.name),
    );
    const lastArrival = Math.max(...warmupExports.map((r) => r.at));
    const latencyMs = lastArrival - Math.max(...failedAt);
    console.log(`fast signal: warm-up failure event -> OTLP receiver in ${latencyMs} ms`);
    expect(latencyMs).toBeLessThan(200);
    for (const r of warmupExports) expect(r.contentType).toBe("application/x-protobuf");
    const hole = `127.0.0.1:${s.endpoint("hole").port}`;
    const failure = rx.spans().find((x) => x.name === PROXY_SPANS.warmupFailure.name)!;
    expect(failure.attributes[ATTR.endpoint]).toBe(hole);
    expect(failure.attributes[ATTR.cluster]).toBe("api");
    expect(failure.attributes[ATTR.warmupOutcome]).toBe("health_failed");
    expect(failure.resource["service.name"]).toBe("meshtune-proxy");
    expect(failure.resource["service.instance.id"]).toBe("otlp-proxy");
    // The span ends at the event: receipt minus span end is the export latency too.
    expect(lastArrival - failure.endUnixMs).toBeLessThan(200);

    // Request traces: server + client span of a real request, with the proxy's resource.
    const res = await request(`http://127.0.0.1:${proxy.listenerAddress!.port}/x`, {
      headers: { host: "api.example.com" },
      dispatcher: client,
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await telemetry.forceFlush();
    await eventually(() => rx.spans().some((x) => x.kind === 3)); // SPAN_KIND_CLIENT
    const server = rx.spans().find((x) => x.kind === 2)!; // SPAN_KIND_SERVER
    const attempt = rx.spans().find((x) => x.kind === 3)!;
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.traceId).toBe(server.traceId);
    expect(attempt.attributes["http.response.status_code"]).toBe(200);
    expect(attempt.attributes[ATTR.endpoint]).toBe(`127.0.0.1:${s.endpoint("ok").port}`);
    expect(typeof attempt.attributes[ATTR.connectionReused]).toBe("boolean");

    // Metrics: pushed on the interval, protobuf, with the catalog's names.
    await eventually(() => rx.received.some((r) => r.path === "/v1/metrics"), 3000);
    const m = rx.received.filter((r) => r.path === "/v1/metrics");
    for (const r of m) expect(r.contentType).toBe("application/x-protobuf");
    const names = new Set(m.flatMap((r) => decodeMetricNames(r.body)));
    expect(names).toContain(PROXY_METRICS.warmup.name);
    // Request-path totals (request-stats.ts, a MetricProducer) go out by OTLP too.
    expect(names).toContain(PROXY_METRICS.requests.name);
    expect(names).toContain(PROXY_METRICS.requestDuration.name);
    expect(names).toContain(PROXY_METRICS.poolConnections.name);
    expect(names).toContain(PROXY_METRICS.healthFlags.name);
  });

  it("config applications are fast signals too; a dead collector costs counted drops, not memory", async () => {
    const rx = await otlpReceiver();
    const telemetry = new ProxyTelemetry({ instanceId: "p", otlpEndpoint: rx.url, metricsIntervalMs: 60_000 });
    cleanup.push(() => telemetry.shutdown());
    const t0 = Date.now();
    telemetry.configApplied({ kind: "control", version: 7, result: "NACK", source: "redis", reason: "stale version" });
    await eventually(() => rx.spans().some((x) => x.name === PROXY_SPANS.configApply.name), 1000);
    const arrived = rx.received.find((r) => r.path === "/v1/traces")!.at;
    expect(arrived - t0).toBeLessThan(200);
    const span = rx.spans().find((x) => x.name === PROXY_SPANS.configApply.name)!;
    expect(span.attributes[ATTR.configResult]).toBe("NACK");
    expect(span.attributes[ATTR.configVersion]).toBe(7);
    expect(span.attributes[ATTR.detail]).toBe("stale version");

    // Nobody listens here: exports fail. The queue holds at most 8 spans; the rest are dropped.
    const dead = new ProxyTelemetry({
      instanceId: "q",
      otlpEndpoint: "http://127.0.0.1:9",
      metricsIntervalMs: 60_000,
      fastQueue: { maxQueueSize: 8, maxExportBatchSize: 8, delayMs: 10 },
    });
    cleanup.push(() => dead.shutdown(500));
    for (let i = 0; i < 1000; i++) dead.configApplied({ kind: "config", version: i, result: "ACK" });
    await dead.forceFlush();
    const text = await dead.prometheusText();
    const series = (reason: string) =>
      Number(
        new RegExp(`^meshtune_proxy_telemetry_dropped_total\\{signal="fast",reason="${reason}"\\} (\\d+)$`, "m").exec(
          text,
        )?.[1],
      );
    expect(series("queue_full")).toBeGreaterThanOrEqual(1000 - 16);
    expect(series("queue_full") + series("export_failed")).toBe(1000);
  });
});
