#!/usr/bin/env node
/**
 * CPU cost of the telemetry hooks alone, per request (one attempt), without sockets: the
 * forwarder's four hook calls with exporters that discard. Isolates what the adapter adds to
 * the request path from proxy and network noise (telemetry-overhead.mjs measures the whole).
 *
 *   node services/proxy/scripts/telemetry-hooks-cost.mjs [sampleRatio]   (after ./dev setup)
 */
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { ProxyTelemetry } from "../dist/telemetry/index.js";

const ratio = Number(process.argv[2] ?? 0.1);
const exp = new InMemorySpanExporter();
const t = new ProxyTelemetry({
  instanceId: "x",
  sampleRatio: ratio,
  traceExporter: { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} },
  fastSignalExporter: exp,
  metricExporter: { export: (_m, cb) => cb({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {} },
  metricsIntervalMs: 60000,
});
const host = { key: "127.0.0.1:1", address: "127.0.0.1", port: 1, zone: "a" };
const req = {
  method: "GET",
  url: "/x?y",
  headers: { host: "api.example.com" },
  socket: { remoteAddress: "127.0.0.1" },
  httpVersion: "1.1",
};
const h = t.hooks;
function one() {
  const ctx = h.onRequestStart(req);
  const hd = h.onAttemptStart(ctx, "api", host, 1, 3.2);
  h.onAttempt({
    cluster: "api",
    host,
    attempt: 1,
    status: 200,
    latencyMs: 1.2,
    poolWaitMs: 0,
    reused: true,
    score: 3.2,
    ctx,
  });
  h.onRequest({ cluster: "api", method: "GET", status: 200, latencyMs: 1.5, attempts: 1, ctx });
  return hd;
}
for (let i = 0; i < 50000; i++) one();
const N = 200000;
const t0 = process.cpuUsage();
for (let i = 0; i < N; i++) one();
const d = process.cpuUsage(t0);
console.log(`ratio ${ratio}: ${((d.user + d.system) / N).toFixed(2)} µs per request (hooks only)`);
process.exit(0);
