/** Outlier detection on paused time: every interval sweep is driven by FakeClock.advance(). */
import { type Endpoint, type OutlierConfig, OutlierSchema } from "@meshtune/contracts";
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { flagWriter, type Host, HostSet } from "../src/host.js";
import { classifyStatus, OutlierDetector, type OutlierEvent, type OutlierResult } from "../src/outlier/detector.js";

function eps(n: number, prefix = "10.0.0."): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ address: `${prefix}${i + 1}`, port: 443, weight: 1 }));
}

function setup(n: number, cfg: Record<string, unknown> = {}, opts: { alwaysEjectOneHost?: boolean } = {}) {
  const clock = new FakeClock(0);
  const hosts = new HostSet(() => clock.now());
  hosts.update(eps(n));
  const events: OutlierEvent[] = [];
  const config: OutlierConfig = OutlierSchema.parse({
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 100,
    ...cfg,
  });
  const det = new OutlierDetector(
    hosts,
    config,
    clock,
    flagWriter("ejected_outlier", () => clock.now()),
    (e) => events.push(e),
    opts,
  );
  return { clock, hosts, det, events, h: [...hosts.hosts] };
}

function report(det: OutlierDetector, host: Host, times: number, r: OutlierResult): void {
  for (let i = 0; i < times; i++) det.reportResult(host, r);
}

const ok: OutlierResult = { kind: "success", status: 200 };
const e500: OutlierResult = { kind: "http_5xx", status: 500 };
const e503: OutlierResult = { kind: "gateway_error", status: 503 };
const refused: OutlierResult = { kind: "local_origin_failure", cause: "connect_refused" };

describe("consecutive errors", () => {
  // [name, config, sequence, ejected?, reason]
  const table: Array<[string, Record<string, unknown>, OutlierResult[], boolean, string | undefined]> = [
    ["5 × 500 ejects", {}, Array(5).fill(e500), true, "consecutive_5xx"],
    ["4 × 500 does not", {}, Array(4).fill(e500), false, undefined],
    ["a success resets the 5xx count", {}, [...Array(4).fill(e500), ok, ...Array(4).fill(e500)], false, undefined],
    [
      "gateway errors eject at their own threshold",
      { consecutiveGatewayErrors: 3, consecutive5xx: 10 },
      Array(3).fill(e503),
      true,
      "consecutive_gateway_error",
    ],
    [
      "a plain 500 resets the gateway count but not the 5xx count",
      { consecutiveGatewayErrors: 3, consecutive5xx: 5 },
      [e503, e503, e500, e503, e503],
      true,
      "consecutive_5xx",
    ],
    [
      "a 503 reported as http_5xx counts as a gateway error",
      { consecutiveGatewayErrors: 2, consecutive5xx: 10 },
      [
        { kind: "http_5xx", status: 503 },
        { kind: "http_5xx", status: 502 },
      ],
      true,
      "consecutive_gateway_error",
    ],
    ["5 local-origin failures eject", {}, Array(5).fill(refused), true, "consecutive_local_origin_failure"],
    [
      "any HTTP response resets the local-origin count",
      {},
      [...Array(4).fill(refused), e500, ...Array(4).fill(refused)],
      false,
      undefined,
    ],
    [
      "0 disables a counter",
      { consecutive5xx: 0, consecutiveGatewayErrors: 0 },
      Array(50).fill(e503),
      false,
      undefined,
    ],
    ["disabled detector never ejects", { enabled: false }, Array(50).fill(e500), false, undefined],
  ];
  it.each(table)("%s", (_name, cfg, seq, ejected, reason) => {
    const { det, h } = setup(3, cfg);
    for (const r of seq) det.reportResult(h[0]!, r);
    expect(h[0]!.hasFlag("ejected_outlier")).toBe(ejected);
    expect(h[0]!.available).toBe(!ejected);
    expect(det.snapshot(h[0]!)?.reason).toBe(reason);
  });

  it("classifyStatus maps statuses to result kinds", () => {
    expect([200, 404, 500, 502, 503, 504, 599].map(classifyStatus)).toEqual([
      "success",
      "success",
      "http_5xx",
      "gateway_error",
      "gateway_error",
      "gateway_error",
      "http_5xx",
    ]);
  });
});

describe("ejection time and backoff", () => {
  it("ejects for base time, doubles on the second ejection, returns the host after the time passes", () => {
    const { clock, det, events, h } = setup(3);
    const host = h[0]!;
    report(det, host, 5, e500);
    expect(events.at(-1)).toMatchObject({
      type: "ejected",
      reason: "consecutive_5xx",
      ejectUntil: 30_000,
      ejectionCount: 1,
    });
    clock.advance(29_999);
    expect(host.available).toBe(false);
    clock.advance(1); // the 30 s interval tick un-ejects (Envoy un-ejects on the interval)
    expect(host.available).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "unejected", reason: "consecutive_5xx", ejectedForMs: 30_000 });

    // Fails again at once: twice the base time.
    report(det, host, 5, e500);
    const snap = det.snapshot(host)!;
    expect(snap).toMatchObject({
      ejected: true,
      ejectedAt: 30_000,
      ejectUntil: 90_000,
      ejectionCount: 2,
      totalEjections: 2,
    });
    clock.advance(50_000);
    expect(host.available).toBe(false);
    clock.advance(10_000);
    expect(host.available).toBe(true);
  });

  it("caps the ejection time at maxEjectionTimeMs", () => {
    const { clock, det, h } = setup(3, { baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 60_000 });
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      report(det, h[0]!, 5, e500);
      const s = det.snapshot(h[0]!)!;
      durations.push(s.ejectUntil! - s.ejectedAt!);
      while (!h[0]!.available) clock.advance(10_000);
    }
    expect(durations).toEqual([30_000, 60_000, 60_000, 60_000]);
  });

  it("decays the multiplier by one per healthy interval after un-ejection", () => {
    const { clock, det, h } = setup(3);
    const host = h[0]!;
    report(det, host, 5, e500);
    clock.advance(30_000);
    report(det, host, 5, e500); // multiplier 2, back at 90 s
    clock.advance(60_000);
    expect(host.available).toBe(true);
    expect(det.snapshot(host)!.ejectionCount).toBe(2);
    clock.advance(10_000);
    expect(det.snapshot(host)!.ejectionCount).toBe(1);
    clock.advance(10_000);
    expect(det.snapshot(host)!.ejectionCount).toBe(0);
    // A fresh failure after full decay is back to the base time.
    report(det, host, 5, e500);
    const s = det.snapshot(host)!;
    expect(s.ejectUntil! - s.ejectedAt!).toBe(30_000);
  });

  it("resets the consecutive counters on un-ejection", () => {
    const { clock, det, h } = setup(3);
    report(det, h[0]!, 5, e500);
    report(det, h[0]!, 4, e500); // ignored while ejected
    clock.advance(30_000);
    report(det, h[0]!, 1, e500);
    expect(h[0]!.available).toBe(true);
    expect(det.snapshot(h[0]!)!.consecutive.http5xx).toBe(1);
  });
});

describe("max ejection percent", () => {
  // [hosts, maxEjectionPercent, alwaysEjectOneHost, ejections allowed]
  const table: Array<[number, number, boolean, number]> = [
    [10, 20, false, 2],
    [10, 10, false, 1],
    [10, 5, false, 0], // Envoy: (0 + 1) / 10 = 10% > 5%
    [5, 10, false, 0], // the Envoy trap for small clusters …
    [5, 10, true, 1], // … that always_eject_one_host fixes
    [5, 20, false, 1],
    [3, 100, false, 3],
  ];
  it.each(table)("%d hosts, max %d%%, alwaysEjectOneHost=%s → %d ejected", (n, max, always, want) => {
    const { det, events, h } = setup(n, { maxEjectionPercent: max }, { alwaysEjectOneHost: always });
    for (const host of h) report(det, host, 5, e500);
    expect(det.ejectedCount).toBe(want);
    expect(h.filter((x) => !x.available)).toHaveLength(want);
    expect(events.filter((e) => e.type === "ejection_overflow")).toHaveLength(n - want);
  });

  it("external eject() reports the refusal", () => {
    const { det, h } = setup(10, { maxEjectionPercent: 10 });
    expect(det.eject(h[0]!, "warmup_failure", "connect timeout")).toBe("ejected");
    expect(det.eject(h[0]!, "warmup_failure")).toBe("already_ejected");
    expect(det.eject(h[1]!, "warmup_failure")).toBe("max_ejection_percent");
    expect(h[0]!.flagReason("ejected_outlier")).toBe("warmup_failure: connect timeout");
    expect(det.snapshot(h[0]!)).toMatchObject({ ejected: true, reason: "warmup_failure", detail: "connect timeout" });
  });
});

describe("interval detectors", () => {
  it("success rate: ejects the host below mean − 1.9 × stdev", () => {
    const { clock, det, events, h } = setup(6);
    // 5 hosts at 99%, one at 70%; 200 requests each (≥ requestVolume 100), 6 ≥ minimumHosts 5.
    for (const host of h.slice(0, 5)) {
      report(det, host, 198, ok);
      report(det, host, 2, e500);
    }
    for (let i = 0; i < 200; i++) det.reportResult(h[5]!, i % 10 < 7 ? ok : e500);
    clock.advance(10_000);
    const ej = events.find((e) => e.type === "ejected");
    expect(ej).toMatchObject({ host: h[5], reason: "success_rate" });
    const ev = (ej as { evidence: Record<string, number> }).evidence;
    console.info(`[outlier] success rate ejection evidence ${JSON.stringify(ev)}`);
    expect(ev.successRate).toBeCloseTo(70);
    expect(h.slice(0, 5).every((x) => x.available)).toBe(true);
    expect(det.clusterSnapshot().successRateThreshold).toBeGreaterThan(70);
    expect(det.snapshot(h[0]!)!.successRate).toBeCloseTo(99);
  });

  it("success rate: needs minimumHosts hosts with requestVolume requests", () => {
    const { clock, det, h } = setup(6);
    for (const host of h.slice(0, 3)) report(det, host, 200, ok);
    for (const host of h.slice(3, 5)) report(det, host, 99, ok); // below requestVolume 100
    for (let i = 0; i < 200; i++) det.reportResult(h[5]!, i % 2 === 0 ? ok : e500);
    clock.advance(10_000);
    expect(det.ejectedCount).toBe(0); // 4 hosts qualify < minimumHosts 5
    expect(det.clusterSnapshot().successRateMean).toBeUndefined();
  });

  it("failure percentage: ejects at or above the threshold", () => {
    const { clock, det, h } = setup(5, {
      successRate: { enabled: false },
      failurePercentage: { enabled: true, threshold: 50, minimumHosts: 5, requestVolume: 50 },
    });
    for (const host of h.slice(0, 4)) report(det, host, 100, ok);
    // 60% failures, never 5 in a row; local-origin failures count as failures here.
    for (let i = 0; i < 100; i++) det.reportResult(h[4]!, i % 5 < 3 ? refused : ok);
    clock.advance(10_000);
    expect(det.snapshot(h[4]!)).toMatchObject({ ejected: true, reason: "failure_percentage" });
    expect(det.ejectedCount).toBe(1);
  });

  it("latency: ejects hosts whose mean exceeds factor × the median", () => {
    const { clock, det, events, h } = setup(6, {
      successRate: { enabled: false },
      latency: { enabled: true, factor: 3, minimumHosts: 3, requestVolume: 50 },
    });
    const means = [10, 11, 9, 10, 25, 50];
    h.forEach((host, i) => {
      report(det, host, 100, { kind: "success", latencyMs: means[i]! });
    });
    clock.advance(10_000);
    const ejected = events.filter((e) => e.type === "ejected").map((e) => e.host);
    expect(ejected).toEqual([h[5]]); // median 10.5 → limit 31.5: 50 out, 25 stays
    expect(det.clusterSnapshot().latencyMedianMs).toBeCloseTo(10.5);
  });

  it("latency: no ejection below minimumHosts", () => {
    const { clock, det, h } = setup(2, {
      successRate: { enabled: false },
      latency: { enabled: true, factor: 3, minimumHosts: 3, requestVolume: 50 },
    });
    report(det, h[0]!, 100, { kind: "success", latencyMs: 10 });
    report(det, h[1]!, 100, { kind: "success", latencyMs: 100 });
    clock.advance(10_000);
    expect(det.ejectedCount).toBe(0);
  });

  it("counts only the interval in progress", () => {
    const { clock, det, h } = setup(6);
    const half = (host: Host) => {
      for (let i = 0; i < 60; i++) det.reportResult(host, i % 2 === 0 ? ok : e500);
    };
    for (const host of h.slice(0, 5)) report(det, host, 60, ok);
    half(h[5]!);
    clock.advance(10_000); // 60 < requestVolume 100: nothing qualifies
    for (const host of h.slice(0, 5)) report(det, host, 60, ok);
    half(h[5]!);
    clock.advance(10_000);
    expect(det.ejectedCount).toBe(0);
    expect(det.snapshot(h[0]!)!.interval.requests).toBe(0);
  });
});

describe("membership", () => {
  it("keeps ejection state across a re-resolve that keeps the address (Istio #8673), forgets removed hosts", () => {
    const { clock, hosts, det, h } = setup(3);
    report(det, h[0]!, 5, e500);
    const before = det.snapshot(h[0]!);
    // DNS re-resolve: same three addresses in a different order plus a new one.
    hosts.update([...eps(3).reverse(), ...eps(1, "10.0.1.")]);
    expect(hosts.get(h[0]!.key)).toBe(h[0]);
    expect(det.snapshot(h[0]!)).toEqual(before);
    expect(h[0]!.available).toBe(false);
    const added = hosts.get("10.0.1.1:443")!;
    expect(det.snapshot(added)).toMatchObject({ ejected: false, ejectionCount: 0 });

    hosts.update(eps(3).slice(1));
    expect(det.snapshot(h[0]!)).toBeUndefined();
    det.reportResult(h[0]!, e500); // late result for a removed host: ignored
    expect(det.ejectedCount).toBe(0);
    clock.advance(30_000);
  });

  it("adopts a host already flagged by a previous detector (config reload)", () => {
    const { clock, hosts, det, h } = setup(3);
    report(det, h[0]!, 5, e500);
    det.close();
    const next = new OutlierDetector(
      hosts,
      OutlierSchema.parse({ maxEjectionPercent: 100 }),
      clock,
      flagWriter("ejected_outlier", () => clock.now()),
    );
    // The flag's reason text (reason: detail) is all the new detector can know.
    expect(next.snapshot(h[0]!)).toMatchObject({ ejected: true, reason: "consecutive_5xx: status 500" });
    clock.advance(30_000);
    expect(h[0]!.available).toBe(true);
    next.close();
  });
});

describe("lifecycle", () => {
  it("close() cancels the interval timer", () => {
    const { clock, det } = setup(3);
    expect(clock.pending).toBe(1);
    det.close();
    expect(clock.pending).toBe(0);
  });

  it("updateConfig(enabled: false) releases every ejection; re-enabling re-arms the timer", () => {
    const { clock, det, h } = setup(3);
    report(det, h[0]!, 5, e500);
    det.updateConfig(OutlierSchema.parse({ enabled: false }));
    expect(h[0]!.available).toBe(true);
    expect(clock.pending).toBe(0);
    det.updateConfig(OutlierSchema.parse({ intervalMs: 5_000 }));
    expect(clock.pending).toBe(1);
    expect(det.eject(h[1]!, "x")).toBe("max_ejection_percent"); // default 10% of 3 hosts
  });

  it("rejects a FlagWriter for another flag", () => {
    const clock = new FakeClock(0);
    const hosts = new HostSet(() => clock.now());
    expect(
      () =>
        new OutlierDetector(
          hosts,
          OutlierSchema.parse({}),
          clock,
          flagWriter("draining", () => 0),
        ),
    ).toThrow(/ejected_outlier/);
  });
});
