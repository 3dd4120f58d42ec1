import { describe, expect, it } from "vitest";
import { Histogram, summarizeMicros } from "../src/loadgen/histogram.js";
import { scheduleFromStages, stepRps } from "../src/loadgen/schedule.js";
import { sampleLatencyMs } from "../src/sim/latency.js";

/** Deterministic PRNG (mulberry32) so the tests never flake. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactPercentile(sorted: number[], p: number): number {
  const idx = Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1;
  return sorted[idx]!;
}

describe("Histogram", () => {
  it("percentiles are within 1% of the exact values over a wide range", () => {
    const r = rng(42);
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // lognormal microseconds: ~10 us .. ~10 s
      const v = Math.round(
        Math.exp(Math.log(2000) + 2 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
      );
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
      const exact = exactPercentile(values, p);
      const got = h.valueAtPercentile(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(Math.abs(got - exact)).toBeLessThanOrEqual(Math.max(1, exact * 0.01));
    }
    expect(h.count).toBe(50_000);
    expect(h.max).toBe(values.at(-1));
    expect(h.min).toBe(values[0]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(h.mean).toBeCloseTo(mean, 6);
  });

  it("small values are exact; empty is all zeros; add merges; clamps above maxValue", () => {
    const h = new Histogram();
    expect(summarizeMicros(h)).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, min: 0 });
    for (let v = 0; v < 100; v++) h.record(v);
    expect(h.valueAtPercentile(50)).toBe(49);
    const other = new Histogram();
    other.record(1_000_000, 100);
    h.add(other);
    expect(h.count).toBe(200);
    expect(h.valueAtPercentile(99)).toBeGreaterThanOrEqual(1_000_000);
    expect(h.valueAtPercentile(99)).toBeLessThanOrEqual(1_010_000);
    const small = new Histogram({ maxValue: 1000 });
    small.record(5000);
    small.record(-3);
    expect(small.clamped).toBe(1);
    expect(small.max).toBe(1000);
    expect(small.min).toBe(0);
    expect(() => h.add(small)).toThrow(/layouts differ/);
  });
});

describe("schedules", () => {
  it("stages are piecewise constant", () => {
    const s = scheduleFromStages([
      { durationMs: 100, rps: 10 },
      { durationMs: 50, rps: 100 },
    ]);
    expect(s.durationMs).toBe(150);
    expect([s.rps(0), s.rps(99), s.rps(100), s.rps(149), s.rps(150)]).toEqual([10, 10, 100, 100, 0]);
    expect(stepRps(1, 10, 5)(4)).toBe(1);
    expect(stepRps(1, 10, 5)(5)).toBe(10);
  });
});

describe("sampleLatencyMs", () => {
  it("is never negative and roughly matches each distribution", () => {
    const r = rng(7);
    const mean = (l: Parameters<typeof sampleLatencyMs>[0]) => {
      let sum = 0;
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 20_000; i++) {
        const v = sampleLatencyMs(l, r);
        min = Math.min(min, v);
        sum += v;
      }
      expect(min).toBeGreaterThanOrEqual(0);
      return sum / 20_000;
    };
    expect(mean({ dist: "fixed", ms: 5 })).toBe(5);
    expect(mean({ dist: "uniform", minMs: 10, maxMs: 20 })).toBeCloseTo(15, 0);
    expect(mean({ dist: "exponential", meanMs: 10 })).toBeGreaterThan(9);
    expect(mean({ dist: "exponential", meanMs: 10 })).toBeLessThan(11);
    expect(mean({ dist: "normal", meanMs: 50, stdevMs: 5 })).toBeCloseTo(50, 0);
    // Clamped at 0: a normal centred on 0 has a positive mean.
    expect(mean({ dist: "normal", meanMs: 0, stdevMs: 10 })).toBeGreaterThan(3);
    const med: number[] = [];
    for (let i = 0; i < 5001; i++) med.push(sampleLatencyMs({ dist: "lognormal", medianMs: 20, sigma: 0.5 }, r));
    med.sort((a, b) => a - b);
    expect(med[2500]).toBeGreaterThan(18);
    expect(med[2500]).toBeLessThan(22);
  });
});
