/**
 * Telemetry of real requests through an in-process EgressProxy in front of the project's
 * simulator (and a raw node:http upstream that shows the headers it received): spans and
 * their attributes, parent/child links, trace context reaching the upstream, metric values
 * after known traffic, and /metrics accepted by `promtool check metrics`.
 */
import { spawnSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ATTR, CONFIG_API_VERSION, LABEL, PROXY_METRICS, PROXY_SPANS, type SimConfigInput } from "@meshtune/contracts";
import { EgressProxy } from "@meshtune/dataplane";
import { findPrometheusBinary, type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { SpanKind } from "@opentelemetry/api";
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type MetricData,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProxyTelemetry } from "../src/telemetry/index.js";
import { FixedHistogram } from "../src/telemetry/request-stats.js";

const client = new Agent({ connections: 64 });
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => client.close());

const fastChecks = { intervalMs: 60_000, timeoutMs: 500 };

async function simulator(endpoints: SimConfigInput["endpoints"]): Promise<Simulator> {
  const s = await startSimulatorWith(endpoints);
  cleanup.push(() => s.close());
  return s;
}

function config(ports: number[], zone = "zone-a", extra: Record<string, unknown> = {}) {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: { zone, listener: { port: 0 }, admin: { port: 0 }, drainTimeoutMs: 1000 },
    clusters: [
      {
        name: "api",
        discovery: {
          type: "static",
          endpoints: ports.map((port, i) => ({ address: "127.0.0.1", port, zone: i === 0 ? "zone-a" : "zone-b" })),
        },
        lb: { policy: "round_robin" },
        pool: { minWarm: 1 },
        healthCheck: fastChecks,
        ...extra,
      },
    ],
  };
}

interface Rig {
  proxy: EgressProxy;
  telemetry: ProxyTelemetry;
  spans: InMemorySpanExporter;
  fast: InMemorySpanExporter;
  metricsOut: InMemoryMetricExporter;
}

async function rig(cfg: unknown, sampleRatio = 1): Promise<Rig> {
  const spans = new InMemorySpanExporter();
  const fast = new InMemorySpanExporter();
  const metricsOut = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const telemetry = new ProxyTelemetry({
    instanceId: "test-proxy",
    zone: "zone-a",
    env: { POD_NAME: "app-7d9f", POD_NAMESPACE: "shop", NODE_NAME: "node-1" },
    sampleRatio,
    traceExporter: spans,
    fastSignalExporter: fast,
    metricExporter: metricsOut,
    metricsIntervalMs: 60_000,
  });
  const proxy = new EgressProxy(
    { onClusterEvent: telemetry.onClusterEvent, hooks: telemetry.hooks, admin: { routes: telemetry.adminRoutes } },
    "test-proxy",
  );
  telemetry.attach(proxy);
  const r = await proxy.applyConfig(1, cfg, "test");
  if (r.status !== "ACK") throw new Error(r.reason);
  telemetry.configApplied({ kind: "config", version: 1, result: "ACK", source: "test" });
  await proxy.start();
  cleanup.push(async () => {
    await proxy.close();
    await telemetry.shutdown();
  });
  return { proxy, telemetry, spans, fast, metricsOut };
}

async function get(p: EgressProxy, path = "/", headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${p.listenerAddress!.port}${path}`, {
    headers: { host: "api.example.com", ...headers },
    dispatcher: client,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function metric(rm: ResourceMetrics, name: string): MetricData | undefined {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

function sumWhere(m: MetricData | undefined, match: Record<string, string>): number {
  if (!m) return 0;
  let total = 0;
  for (const dp of m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]) {
    if (!Object.entries(match).every(([k, v]) => dp.attributes[k] === v)) continue;
    if (m.dataPointType === DataPointType.HISTOGRAM) total += (dp.value as { count: number }).count;
    else total += dp.value as number;
  }
  return total;
}

/** A raw node:http upstream that records the trace headers it receives. */
async function headerUpstream() {
  const seen: { path: string; traceparent?: string; tracestate?: string }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({
      path: req.url ?? "",
      traceparent: req.headers.traceparent as string | undefined,
      tracestate: req.headers.tracestate as string | undefined,
    });
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { upstream: (server.address() as AddressInfo).port, seen };
}

/** A port nobody listens on (connects are refused at once). */
async function closedPort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const kindOf = (s: ReadableSpan) => s.kind;
const allowed = (def: { attributes: readonly string[] }) => new Set<string>(def.attributes);

describe("request spans", () => {
  it("a server span per request, a client span per attempt, HTTP semconv + meshtune attributes from the catalog", async () => {
    const s = await simulator([{ name: "a" }, { name: "b" }]);
    const { proxy, telemetry, spans } = await rig(config(s.endpoints.map((e) => e.port)));
    for (let i = 0; i < 10; i++) expect((await get(proxy, `/items/${i}?q=1`)).status).toBe(200);
    await telemetry.forceFlush();

    const all = spans.getFinishedSpans();
    const servers = all.filter((x) => kindOf(x) === SpanKind.SERVER);
    const clients = all.filter((x) => kindOf(x) === SpanKind.CLIENT);
    expect(servers).toHaveLength(10);
    expect(clients).toHaveLength(10);
    const serverAllowed = allowed(PROXY_SPANS.request);
    const clientAllowed = allowed(PROXY_SPANS.attempt);
    for (const sv of servers) {
      expect(sv.name).toBe("GET");
      expect(sv.attributes["http.request.method"]).toBe("GET");
      expect(sv.attributes["http.response.status_code"]).toBe(200);
      expect(sv.attributes["url.path"]).toMatch(/^\/items\/\d$/);
      expect(sv.attributes["server.address"]).toBe("api.example.com");
      expect(sv.attributes[ATTR.cluster]).toBe("api");
      expect(sv.attributes[ATTR.retryCount]).toBe(0);
      for (const k of Object.keys(sv.attributes)) expect(serverAllowed, `server attribute ${k}`).toContain(k);
      const children = clients.filter((c) => c.parentSpanContext?.spanId === sv.spanContext().spanId);
      expect(children).toHaveLength(1);
      const c = children[0]!;
      expect(c.spanContext().traceId).toBe(sv.spanContext().traceId);
      // The attempt lies inside the request.
      expect(c.startTime[0] * 1e9 + c.startTime[1]).toBeGreaterThanOrEqual(sv.startTime[0] * 1e9 + sv.startTime[1]);
    }
    const endpoints = new Set(s.endpoints.map((e) => `127.0.0.1:${e.port}`));
    for (const c of clients) {
      expect(c.name).toBe("GET");
      const a = c.attributes;
      expect(a["http.request.method"]).toBe("GET");
      expect(a["http.response.status_code"]).toBe(200);
      expect(a["server.address"]).toBe("127.0.0.1");
      expect(endpoints).toContain(`${a["network.peer.address"]}:${a["network.peer.port"]}`);
      expect(endpoints).toContain(a[ATTR.endpoint]);
      expect(a[ATTR.cluster]).toBe("api");
      expect(["zone-a", "zone-b"]).toContain(a[ATTR.zone]);
      expect(a[ATTR.lbPolicy]).toBe("round_robin");
      expect(typeof a[ATTR.poolWaitMs]).toBe("number");
      expect(typeof a[ATTR.connectionReused]).toBe("boolean");
      expect(a[ATTR.retryCount]).toBe(0);
      expect(a["error.type"]).toBeUndefined();
      for (const k of Object.keys(a)) expect(clientAllowed, `client attribute ${k}`).toContain(k);
    }
    // Warm connections (minWarm 1, health-checked) serve the first request of each endpoint,
    // then connections are reused: every attempt says which.
    expect(clients.filter((c) => c.attributes[ATTR.connectionReused] === true).length).toBeGreaterThan(0);

    // Resource: service, instance, zone, pod attributes from the environment.
    const res = servers[0]!.resource.attributes;
    expect(res["service.name"]).toBe("meshtune-proxy");
    expect(res["service.instance.id"]).toBe("test-proxy");
    expect(res["cloud.availability_zone"]).toBe("zone-a");
    expect(res["k8s.pod.name"]).toBe("app-7d9f");
    expect(res["k8s.namespace.name"]).toBe("shop");
    expect(res["k8s.node.name"]).toBe("node-1");
  });

  it("continues the caller's trace and sends the attempt's span id upstream as traceparent", async () => {
    const { upstream, seen } = await headerUpstream();
    const { proxy, telemetry, spans } = await rig(config([upstream]));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    expect((await get(proxy, "/traced", { traceparent: `00-${traceId}-${parentId}-01` })).status).toBe(200);
    expect((await get(proxy, "/fresh")).status).toBe(200);
    await telemetry.forceFlush();

    const clients = spans.getFinishedSpans().filter((x) => kindOf(x) === SpanKind.CLIENT);
    const servers = spans.getFinishedSpans().filter((x) => kindOf(x) === SpanKind.SERVER);
    const traced = seen.find((x) => x.path === "/traced")!;
    const [, tid, sid, flags] = traced.traceparent!.split("-");
    expect(tid).toBe(traceId);
    expect(flags).toBe("01");
    const attempt = clients.find((c) => c.spanContext().spanId === sid);
    expect(attempt, "upstream traceparent names the client span").toBeDefined();
    const server = servers.find((x) => x.spanContext().spanId === attempt!.parentSpanContext?.spanId)!;
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(parentId);

    const fresh = seen.find((x) => x.path === "/fresh")!;
    const freshAttempt = clients.find((c) => c.spanContext().spanId === fresh.traceparent!.split("-")[2]);
    expect(freshAttempt).toBeDefined();
    expect(freshAttempt!.spanContext().traceId).not.toBe(traceId);
    // Health checks are the pool's own requests: no trace context.
    expect(seen.filter((x) => x.path === "/health").every((x) => x.traceparent === undefined)).toBe(true);
  });

  it("head sampling: ratio 0 records no request span but still propagates the decision; metrics are never sampled", async () => {
    const { upstream, seen } = await headerUpstream();
    const { proxy, telemetry, spans } = await rig(config([upstream]), 0);
    for (let i = 0; i < 5; i++) expect((await get(proxy, `/u${i}`)).status).toBe(200);
    // An unsampled caller: its trace id goes on, still unsampled, with its tracestate.
    const callerTrace = "33333333333333333333333333333333";
    await get(proxy, "/unsampled", { traceparent: `00-${callerTrace}-4444444444444444-00`, tracestate: "vendor=x" });
    // A sampled parent is honoured even at ratio 0 (ParentBased).
    await get(proxy, "/sampled", { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" });
    await telemetry.forceFlush();
    const finished = spans.getFinishedSpans();
    expect(finished.filter((x) => x.kind === SpanKind.SERVER)).toHaveLength(1);
    expect(finished.every((x) => x.spanContext().traceId === "11111111111111111111111111111111")).toBe(true);
    // Every upstream request carries a traceparent; unsampled ones say so (flags 00).
    const tp = (path: string) => seen.find((x) => x.path === path)!.traceparent!.split("-");
    const fresh = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const [version, tid, sid, flags] = tp(`/u${i}`);
      expect(version).toBe("00");
      expect(tid).toMatch(/^[0-9a-f]{32}$/);
      expect(sid).toMatch(/^[0-9a-f]{16}$/);
      expect(flags).toBe("00");
      fresh.add(tid!);
    }
    expect(fresh.size).toBe(5);
    const [, tid, sid, flags] = tp("/unsampled");
    expect(tid).toBe(callerTrace);
    expect(sid).not.toBe("4444444444444444");
    expect(flags).toBe("00");
    expect(seen.find((x) => x.path === "/unsampled")!.tracestate).toBe("vendor=x");
    expect(tp("/sampled")[3]).toBe("01");
    const rm = await telemetry.collect();
    expect(sumWhere(metric(rm, PROXY_METRICS.downstreamRequests.name), { [LABEL.statusClass]: "2xx" })).toBe(7);
  });

  it("errors: a proxy-generated 404 and an upstream 503 carry error.type; the 503 attempt is an error span", async () => {
    const s = await simulator([{ name: "a" }]);
    const { proxy, telemetry, spans } = await rig({
      ...config(s.endpoints.map((e) => e.port)),
      routes: [{ match: { host: "api.example.com" }, cluster: "api" }],
    });
    expect((await get(proxy, "/", { host: "nowhere.example.com" })).status).toBe(404);
    expect((await get(proxy, "/?status=503")).status).toBe(503);
    await telemetry.forceFlush();
    const all = spans.getFinishedSpans();
    const noRoute = all.find((x) => x.kind === SpanKind.SERVER && x.attributes["http.response.status_code"] === 404)!;
    expect(noRoute.attributes["error.type"]).toBe("no_route");
    expect(noRoute.attributes[ATTR.errorCause]).toBe("no_route");
    const attempt503 = all.find(
      (x) => x.kind === SpanKind.CLIENT && x.attributes["http.response.status_code"] === 503,
    )!;
    expect(attempt503.attributes["error.type"]).toBe("503");
    expect(attempt503.status.code).toBe(2); // SpanStatusCode.ERROR
    const rm = await telemetry.collect();
    expect(
      sumWhere(metric(rm, PROXY_METRICS.downstreamRequests.name), { [LABEL.cluster]: "", [LABEL.statusClass]: "4xx" }),
    ).toBe(1);
    expect(
      sumWhere(metric(rm, PROXY_METRICS.requests.name), { [LABEL.cluster]: "api", [LABEL.statusClass]: "5xx" }),
    ).toBe(1);
  });
});

describe("metrics", () => {
  it("request-path histograms use OTel explicit-bucket semantics (upper bounds inclusive)", () => {
    const h = new FixedHistogram([0.001, 0.01, 0.1]);
    for (const v of [0, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 7]) h.record(v);
    expect(h.counts).toEqual([2, 2, 2, 2]);
    expect(h.count).toBe(8);
    expect(h.min).toBe(0);
    expect(h.max).toBe(7);
    expect(h.sum).toBeCloseTo(7.6621, 10);
  });

  it("counts known traffic per endpoint and reads pool, flag, score and version gauges from the proxy", async () => {
    const s = await simulator([{ name: "a" }, { name: "b" }]);
    const { proxy, telemetry, metricsOut } = await rig(config(s.endpoints.map((e) => e.port)));
    for (let i = 0; i < 20; i++) expect((await get(proxy)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await get(proxy, "/?status=500")).status).toBe(500);
    const rm = await telemetry.collect();
    const M = PROXY_METRICS;
    const [ea, eb] = s.endpoints.map((e) => `127.0.0.1:${e.port}`);
    const epA = { [LABEL.cluster]: "api", [LABEL.endpoint]: ea! };
    const epB = { [LABEL.cluster]: "api", [LABEL.endpoint]: eb! };

    expect(sumWhere(metric(rm, M.requests.name), { ...epA, [LABEL.statusClass]: "2xx" })).toBe(10);
    expect(sumWhere(metric(rm, M.requests.name), { ...epB, [LABEL.statusClass]: "2xx" })).toBe(10);
    expect(sumWhere(metric(rm, M.requests.name), { [LABEL.statusClass]: "5xx" })).toBe(4);
    expect(sumWhere(metric(rm, M.requestDuration.name), {})).toBe(24);
    expect(sumWhere(metric(rm, M.poolWait.name), {})).toBe(24);
    expect(sumWhere(metric(rm, M.downstreamRequests.name), { [LABEL.cluster]: "api" })).toBe(24);
    expect(sumWhere(metric(rm, M.downstreamDuration.name), { [LABEL.cluster]: "api" })).toBe(24);
    // Histogram buckets come from the catalog.
    const hist = metric(rm, M.requestDuration.name)!;
    expect(hist.dataPointType).toBe(DataPointType.HISTOGRAM);
    const hv = (hist.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries;
    expect(hv).toEqual([...M.requestDuration.buckets]);
    expect(hist.descriptor.unit).toBe("s");

    // Warm-up: minWarm 1 per endpoint, health-checked on the connection.
    expect(sumWhere(metric(rm, M.warmup.name), { ...epA, [LABEL.outcome]: "ready" })).toBe(1);
    expect(sumWhere(metric(rm, M.healthChecks.name), { ...epA, [LABEL.result]: "success" })).toBeGreaterThanOrEqual(1);
    expect(sumWhere(metric(rm, M.connectDuration.name), epA)).toBeGreaterThanOrEqual(1);
    // Picks: every request went to one of the two endpoints, round robin.
    expect(sumWhere(metric(rm, M.lbPicks.name), { ...epA, [LABEL.policy]: "round_robin" })).toBe(12);
    // Gauges read at collection time.
    expect(sumWhere(metric(rm, M.inFlight.name), epA)).toBe(0);
    const idle = sumWhere(metric(rm, M.poolConnections.name), { ...epA, [LABEL.state]: "idle" });
    expect(idle).toBe(proxy.clusters.get("api")!.pool(proxy.findHost("api", "127.0.0.1", s.endpoints[0]!.port)!)!.idle);
    expect(idle).toBeGreaterThanOrEqual(1);
    expect(sumWhere(metric(rm, M.poolPending.name), epA)).toBe(0);
    expect(sumWhere(metric(rm, M.healthFlags.name), { ...epA, [LABEL.flag]: "ejected_outlier" })).toBe(0);
    expect(metric(rm, M.healthFlags.name)!.dataPoints).toHaveLength(2 * 5);
    expect(metric(rm, M.lbScore.name)!.dataPoints).toHaveLength(2);
    expect(sumWhere(metric(rm, M.configVersion.name), {})).toBe(1);
    expect(sumWhere(metric(rm, M.controlVersion.name), {})).toBe(-1);
    expect(sumWhere(metric(rm, M.configApplies.name), { [LABEL.kind]: "config", [LABEL.result]: "ACK" })).toBe(1);

    // The OTLP push reader sees the very same instruments (one source of truth).
    await telemetry.forceFlush();
    const pushed = metricsOut.getMetrics().at(-1)!;
    expect(sumWhere(metric(pushed, M.requests.name), { ...epA, [LABEL.statusClass]: "2xx" })).toBe(10);
    expect(sumWhere(metric(pushed, M.downstreamRequests.name), { [LABEL.cluster]: "api" })).toBe(24);
  });

  it("ejections, health flags and fast signals follow outlier detection", async () => {
    const s = await simulator([{ name: "a" }, { name: "b" }]);
    const { proxy, telemetry, fast } = await rig(
      config(
        s.endpoints.map((e) => e.port),
        "zone-a",
        {
          outlier: { consecutive5xx: 3, maxEjectionPercent: 50, intervalMs: 60_000 },
        },
      ),
    );
    await s.endpoint("a").setFaults({ errorRate: 1, errorStatus: 500 });
    for (let i = 0; i < 12; i++) await get(proxy);
    const rm = await telemetry.collect();
    const ea = `127.0.0.1:${s.endpoints[0]!.port}`;
    const epA = { [LABEL.cluster]: "api", [LABEL.endpoint]: ea };
    expect(sumWhere(metric(rm, PROXY_METRICS.ejections.name), { ...epA, [LABEL.reason]: "consecutive_5xx" })).toBe(1);
    expect(sumWhere(metric(rm, PROXY_METRICS.healthFlags.name), { ...epA, [LABEL.flag]: "ejected_outlier" })).toBe(1);
    await telemetry.forceFlush();
    const ejection = fast.getFinishedSpans().find((x) => x.name === PROXY_SPANS.ejection.name)!;
    expect(ejection).toBeDefined();
    expect(ejection.attributes[ATTR.endpoint]).toBe(ea);
    expect(ejection.attributes[ATTR.ejectReason]).toBe("consecutive_5xx");
    expect(ejection.attributes[ATTR.ejectDurationMs]).toBeGreaterThan(0);
    expect(ejection.parentSpanContext).toBeUndefined();
    for (const k of Object.keys(ejection.attributes)) expect(allowed(PROXY_SPANS.ejection)).toContain(k);
    const apply = fast.getFinishedSpans().find((x) => x.name === PROXY_SPANS.configApply.name)!;
    expect(apply.attributes[ATTR.configResult]).toBe("ACK");
    expect(apply.attributes[ATTR.configVersion]).toBe(1);
  });
});

describe("/metrics on the admin port", () => {
  let promtool = "";
  beforeAll(() => {
    promtool = findPrometheusBinary("promtool");
  }, 300_000);

  it("serves every catalog metric in Prometheus text format that passes promtool check metrics", async () => {
    const s = await simulator([{ name: "a" }, { name: "b" }]);
    const { proxy, telemetry } = await rig(
      config([...s.endpoints.map((e) => e.port), await closedPort()], "zone-a", {
        outlier: { consecutive5xx: 2, maxEjectionPercent: 50 },
      }),
    );
    for (let i = 0; i < 10; i++) await get(proxy);
    await s.endpoint("b").setFaults({ errorRate: 1, errorStatus: 502 });
    for (let i = 0; i < 8; i++) await get(proxy);
    telemetry.configApplied({ kind: "control", version: 3, result: "NACK", reason: "unknown cluster 'x'" });
    const res = await request(`http://127.0.0.1:${proxy.adminAddress!.port}/metrics`, { dispatcher: client });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.body.text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`));
    for (const def of Object.values(PROXY_METRICS)) expect(families, def.name).toContain(`${def.name} ${def.type}`);
    expect(text).toMatch(/^target_info\{.*service_name="meshtune-proxy".*\} 1$/m);
    expect(text).toContain(`meshtune_proxy_config_applies_total{kind="control",result="NACK"} 1`);

    const check = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
  });
});
