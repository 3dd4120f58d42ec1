/**
 * Extraction is pure: an OTLP request in, window points out, everything else counted as
 * ignored (not ours) or rejected (ours but unusable). No Redis, no clock.
 */
import { LABEL, PROXY_METRICS } from "@meshtune/contracts";
import { describe, expect, it } from "vitest";
import { extractMetrics } from "../src/otlp/metrics.js";
import { decodeMetrics, decodeTraces } from "../src/otlp/proto.js";
import { extractSignals } from "../src/otlp/spans.js";
import {
  attemptsMetric,
  configNackSpan,
  latencyMetric,
  metricsRequest,
  ns,
  tracesRequest,
  warmupFailureSpan,
} from "./payloads.js";

const EP = "10.9.9.9:443";
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

describe("extractMetrics", () => {
  it("turns the catalog's metrics into points per (cluster, proxy) and counts the rest", () => {
    const req = metricsRequest("p1", [
      attemptsMetric([
        { cluster: "a", endpoint: EP, statusClass: "5xx", value: 3, startMs: 1_000, timeMs: 2_000 },
        { cluster: "b", endpoint: EP, statusClass: "2xx", value: 4, startMs: 1_000, timeMs: 2_000 },
      ]),
      latencyMetric({ cluster: "a", endpoint: EP, startMs: 1_000, timeMs: 2_000, counts: [1, 1] }),
      {
        name: PROXY_METRICS.poolConnections.name,
        gauge: {
          dataPoints: [
            {
              attributes: [attr(LABEL.cluster, "a"), attr(LABEL.endpoint, EP), attr(LABEL.state, "idle")],
              timeUnixNano: ns(2_000),
              asInt: "2",
            },
            {
              attributes: [attr(LABEL.cluster, "a"), attr(LABEL.endpoint, EP), attr(LABEL.state, "bogus")],
              timeUnixNano: ns(2_000),
              asInt: "1",
            },
          ],
        },
      },
      { name: "http.server.duration", histogram: { dataPoints: [{}, {}] } },
    ]);
    const x = extractMetrics(decodeMetrics(json(req), "json"), 5_000);
    expect(x.points).toBe(7);
    expect(x.ignored).toBe(2);
    expect(Object.fromEntries(x.rejected)).toEqual({ missing_label: 1 });
    const a = x.batches.find((b) => b.cluster === "a")!;
    expect(a.proxy).toBe("p1");
    expect(a.points).toEqual([
      expect.objectContaining({
        type: "counter",
        value: 3,
        field: `${EP}|att|5xx`,
        proxyField: `${EP}|fail`,
        startUs: 1_000_000,
        timeUs: 2_000_000,
      }),
      expect.objectContaining({ type: "histogram", count: 2, field: `${EP}|lat`, temporality: "cumulative" }),
      { type: "gauge", field: `${EP}|idle`, timeMs: 2_000, value: 2 },
    ]);
    expect(x.batches.find((b) => b.cluster === "b")!.points).toHaveLength(1);
  });

  it("delta temporality passes through; wrong types, bad values and a missing instance id are rejected", () => {
    const delta = attemptsMetric([{ cluster: "a", endpoint: EP, statusClass: "2xx", value: 2, startMs: 0, timeMs: 1 }]);
    delta.sum.aggregationTemporality = 1;
    const negative = attemptsMetric([
      { cluster: "a", endpoint: EP, statusClass: "2xx", value: -1, startMs: 0, timeMs: 1 },
    ]);
    const asGauge = { name: PROXY_METRICS.requests.name, gauge: { dataPoints: [{ asDouble: 1 }] } };
    const x = extractMetrics(decodeMetrics(json(metricsRequest("p", [delta, negative, asGauge])), "json"), 0);
    expect(x.batches[0]!.points[0]).toMatchObject({ temporality: "delta", value: 2 });
    expect(Object.fromEntries(x.rejected)).toEqual({ bad_value: 1, wrong_type: 1 });
    const anonymous = { resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [delta] }] }] };
    expect(Object.fromEntries(extractMetrics(decodeMetrics(json(anonymous), "json"), 0).rejected)).toEqual({
      missing_instance_id: 1,
    });
  });
});

describe("extractSignals", () => {
  it("keeps fast-signal spans with their attributes, a config apply only when it is a NACK", () => {
    const ack = { ...configNackSpan(3), attributes: [attr("meshtune.config.result", "ACK")] };
    const req = tracesRequest("p1", [
      warmupFailureSpan({ cluster: "a", endpoint: EP, atMs: 1_500 }),
      configNackSpan(2_000),
      ack,
      { name: "GET" },
    ]);
    const x = extractSignals(decodeTraces(json(req), "json"), 9_000);
    expect(x.spans).toBe(4);
    expect(x.ignored).toBe(2);
    expect(x.signals).toEqual([
      {
        kind: "warmup_failure",
        cluster: "a",
        endpoint: EP,
        proxy: "p1",
        at: 1_500,
        receivedAt: 9_000,
        attributes: { "meshtune.cluster": "a", "meshtune.endpoint": EP, "meshtune.warmup.outcome": "connect_failed" },
      },
      expect.objectContaining({ kind: "config_nack", cluster: "", proxy: "p1", at: 2_000 }),
    ]);
  });
});
