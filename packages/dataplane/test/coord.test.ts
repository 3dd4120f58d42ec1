/**
 * Coordination decision core (DESIGN.md section 2, "Coordination"): peak-EWMA latency, the
 * pool-aware least-request score, Holt forecasting, the LB-directed warm-up plan and the
 * predictive scaler. Pure logic on paused time (FakeClock); figures are printed with
 * console.info for the PR description.
 */
import { type Cluster, type ClusterInput, ClusterSchema, type Endpoint } from "@meshtune/contracts";
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { Holt } from "../src/coord/holt.js";
import { Ewma, PeakEwma } from "../src/coord/peak-ewma.js";
import { PredictiveScaler, type ScalerHost } from "../src/coord/scaler.js";
import { LATENCY_FLOOR_MS, poolAwareScore } from "../src/coord/score.js";
import { planWarmup } from "../src/coord/warmup-plan.js";
import { Host, HostSet, type PoolView } from "../src/host.js";

const TAU_MS = 10_000;

function host(i: number, pool: Partial<PoolView> = {}, inFlight = 0): Host {
  const h = new Host({ address: `10.0.0.${i}`, port: 443, weight: 1 }, 0);
  h.pool = { idle: 0, active: 0, connecting: 0, pending: 0, maxConnections: 64, ...pool };
  h.inFlight = inFlight;
  return h;
}

describe("PeakEwma", () => {
  it("takes a slow observation at once", () => {
    const e = new PeakEwma(TAU_MS, 0);
    e.observe(1, 0);
    expect(e.value(0)).toBe(1);
    e.observe(50, 10);
    expect(e.value(10)).toBe(50);
  });

  it("starts from the first observation when created without an initial value", () => {
    const e = new PeakEwma(TAU_MS, 0);
    expect(e.value(0)).toBe(0);
    e.observe(7, 5);
    expect(e.value(5)).toBe(7);
  });

  it("is pulled down gradually by fast observations, never raised by them", () => {
    const e = new PeakEwma(TAU_MS, 0);
    e.observe(50, 0);
    let prev = e.value(0);
    let t = 0;
    const at: Record<number, number> = {};
    // A 1 ms response every 10 ms.
    while (t < 60_000) {
      t += 10;
      e.observe(1, t);
      const v = e.value(t);
      expect(v).toBeLessThanOrEqual(prev);
      expect(v).toBeGreaterThanOrEqual(1 - 1e-9);
      prev = v;
      if (t === 10 || t === 1_000 || t === 10_000 || t === 60_000) at[t] = v;
    }
    console.info(
      `[coord] peak-EWMA 50 ms then 1 ms every 10 ms (tau 10 s): ${Object.entries(at)
        .map(([k, v]) => `${Number(k) / 1000} s → ${v.toFixed(2)} ms`)
        .join(", ")}`,
    );
    // One fast response does not undo a slow one...
    expect(at[10]).toBeGreaterThan(49);
    // ...a second of them still leaves the endpoint far slower than 1 ms...
    expect(at[1_000]).toBeGreaterThan(20);
    // ...and a minute of them brings it back to the fast latency.
    expect(at[60_000]).toBeLessThan(1.05);
  });

  it("decays without observations, so a slow endpoint is probed again after ~tau·ln(slow/fast)", () => {
    const slow = new PeakEwma(TAU_MS, 0);
    const fast = new PeakEwma(TAU_MS, 0);
    slow.observe(50, 0);
    fast.observe(1, 0);
    // Pure decay: e^(-t/tau).
    expect(slow.value(TAU_MS)).toBeCloseTo(50 / Math.E, 9);
    // The fast endpoint keeps answering in 1 ms; the slow one gets no traffic (it loses every
    // comparison) and so no observation. It becomes the cheaper candidate again when its
    // decayed estimate drops below the fast one's.
    let t = 0;
    let crossed: number | undefined;
    while (t < 120_000 && crossed === undefined) {
      t += 10;
      fast.observe(1, t);
      if (slow.value(t) < fast.value(t)) crossed = t;
    }
    const expected = TAU_MS * Math.log(50 / 1);
    console.info(
      `[coord] slow (50 ms) endpoint probed again after ${crossed} ms; tau·ln(50) = ${expected.toFixed(0)} ms`,
    );
    expect(crossed).toBeDefined();
    expect(Math.abs(crossed! - expected) / expected).toBeLessThan(0.02);
  });

  it("does not decay when read at or before the last observation", () => {
    const e = new PeakEwma(TAU_MS, 1_000);
    e.observe(20, 1_000);
    expect(e.value(500)).toBe(20);
    expect(e.value(1_000)).toBe(20);
  });
});

describe("Ewma", () => {
  it("starts at the first observation and moves by alpha", () => {
    const e = new Ewma(0.2);
    expect(e.value).toBeUndefined();
    e.observe(10);
    expect(e.value).toBe(10);
    e.observe(20);
    expect(e.value).toBeCloseTo(12, 12);
  });
});

describe("poolAwareScore", () => {
  const inputs = { latencyMs: 2, connectMs: 5 };

  it("scores an endpoint without an idle connection worse by the connect time", () => {
    const warm = host(1, { idle: 2, active: 3 }, 3);
    const cold = host(2, { idle: 0, active: 3 }, 3);
    const a = poolAwareScore(warm, inputs);
    const b = poolAwareScore(cold, inputs);
    expect(a.score).toBe(2 * 4);
    expect(b.score - a.score).toBe(inputs.connectMs);
  });

  it("scores a full pool with pending requests worse still", () => {
    const room = host(1, { idle: 0, active: 3, maxConnections: 64 }, 3);
    const full = host(2, { idle: 0, active: 3, pending: 4, maxConnections: 3 }, 3);
    const r = poolAwareScore(room, inputs);
    const f = poolAwareScore(full, inputs);
    // Queued behind 4 pending requests + the one being served: latency × 5.
    expect(f.terms.poolWaitTerm).toBe(2 * 5);
    expect(f.score).toBeGreaterThan(r.score);
    // Connections being opened count against the limit: no room means queueing, and a full
    // pool never scores better than one that could still open a connection (connectMs).
    const opening = host(3, { idle: 0, active: 1, connecting: 2, pending: 0, maxConnections: 3 }, 3);
    expect(poolAwareScore(opening, inputs).terms.poolWaitTerm).toBe(Math.max(inputs.connectMs, 2));
  });

  it("scores a slow endpoint worse than a fast one with a few more in flight", () => {
    const slow = host(1, { idle: 4 }, 1);
    const fast = host(2, { idle: 4 }, 4);
    const s = poolAwareScore(slow, { latencyMs: 50, connectMs: 5 });
    const f = poolAwareScore(fast, { latencyMs: 1, connectMs: 5 });
    expect(s.score).toBe(100);
    expect(f.score).toBe(5);
    expect(s.score).toBeGreaterThan(f.score);
  });

  it("floors the latency so a cold endpoint still counts its load", () => {
    const a = poolAwareScore(host(1, { idle: 1 }, 0), { latencyMs: 0, connectMs: 5 });
    const b = poolAwareScore(host(2, { idle: 1 }, 3), { latencyMs: 0, connectMs: 5 });
    expect(a.terms.latencyMs).toBe(LATENCY_FLOOR_MS);
    expect(b.score).toBeGreaterThan(a.score);
  });

  it("reports its terms, and they add up to the score", () => {
    const h = host(1, { idle: 0, active: 2, connecting: 1, pending: 0, maxConnections: 8 }, 2);
    const s = poolAwareScore(h, inputs);
    expect(s.terms).toEqual({
      latencyMs: 2,
      inFlight: 2,
      idle: 0,
      connecting: 1,
      pending: 0,
      connectMs: 5,
      loadTerm: 6,
      poolWaitTerm: 5,
    });
    expect(s.terms.loadTerm! + s.terms.poolWaitTerm!).toBe(s.score);
  });
});

describe("Holt", () => {
  it("forecasts a linear ramp ahead of the last observation", () => {
    const h = new Holt();
    expect(h.forecast(1)).toBe(0);
    let last = 0;
    for (let t = 0; t < 30; t++) {
      last = 100 + 10 * t;
      h.observe(last);
      // The trend starts at 0 (no extrapolation from a single jump), so the forecast runs ahead
      // of a ramp from the fourth observation on (the scaler uses max(rate, forecast) meanwhile).
      if (t >= 4) {
        expect(h.forecast(1)).toBeGreaterThan(last);
        expect(h.forecast(3)).toBeGreaterThan(h.forecast(1));
      }
    }
    // Holt is unbiased on a linear trend once settled: one step ahead is the next ramp value.
    expect(h.forecast(1)).toBeCloseTo(last + 10, 1);
    expect(h.trend).toBeCloseTo(10, 1);
  });

  it("converges on steady input", () => {
    const h = new Holt();
    for (const x of [0, 50, 400, 20, 300]) h.observe(x);
    for (let i = 0; i < 60; i++) h.observe(100);
    expect(h.level).toBeCloseTo(100, 3);
    expect(h.trend).toBeCloseTo(0, 3);
    expect(h.forecast(5)).toBeCloseTo(100, 2);
  });

  it("never forecasts a negative value on a falling ramp", () => {
    const h = new Holt();
    for (let x = 100; x >= 0; x -= 20) h.observe(x);
    expect(h.trend).toBeLessThan(0);
    expect(h.forecast(10)).toBe(0);
  });
});

describe("planWarmup", () => {
  function cluster(endpoints: Partial<Endpoint>[], rest: Omit<ClusterInput, "name" | "discovery"> = {}): Cluster {
    return ClusterSchema.parse({
      name: "api",
      discovery: {
        type: "static",
        endpoints: endpoints.map((e, i) => ({ address: `10.0.0.${i + 1}`, port: 443, ...e })),
      },
      ...rest,
    });
  }

  function hostsOf(cfg: Cluster): Host[] {
    const set = new HostSet(() => 0);
    if (cfg.discovery.type !== "static") throw new Error("static only");
    set.update(cfg.discovery.endpoints);
    return [...set.hosts];
  }

  function targets(phase: { host: Host; target: number }[]): Record<string, number> {
    return Object.fromEntries(phase.map((t) => [t.host.address, t.target]));
  }

  it("least_request warms at least one connection per endpoint, even with minWarm 0", () => {
    const cfg = cluster([{}, {}, { weight: 3 }], { lb: { policy: "least_request" }, pool: { minWarm: 0 } });
    const plan = planWarmup(cfg, hostsOf(cfg), undefined, true);
    expect(plan).toHaveLength(1);
    expect(targets(plan[0]!)).toEqual({ "10.0.0.1": 1, "10.0.0.2": 1, "10.0.0.3": 1 });
    expect(plan[0]![0]!.why).toMatch(/least_request/);
  });

  it("least_request with minWarm above 1 warms minWarm per endpoint, capped at maxConnections", () => {
    const cfg = cluster([{}, {}], { lb: { policy: "least_request" }, pool: { minWarm: 3, maxConnections: 2 } });
    const plan = planWarmup(cfg, hostsOf(cfg), undefined, true);
    expect(targets(plan[0]!)).toEqual({ "10.0.0.1": 2, "10.0.0.2": 2 });
  });

  it("weighted_round_robin warms in proportion to weight (3:1, minWarm 2 → 3 and 1)", () => {
    const cfg = cluster([{ weight: 3 }, { weight: 1 }], {
      lb: { policy: "weighted_round_robin" },
      pool: { minWarm: 2 },
    });
    const plan = planWarmup(cfg, hostsOf(cfg), undefined, true);
    expect(plan).toHaveLength(1);
    expect(targets(plan[0]!)).toEqual({ "10.0.0.1": 3, "10.0.0.2": 1 });
    // Same total budget as minWarm per endpoint.
    expect(plan[0]!.reduce((a, t) => a + t.target, 0)).toBe(4);
  });

  it("zone-aware with a local zone warms in two phases, the local zone first", () => {
    const cfg = cluster([{ zone: "b" }, { zone: "a" }, { zone: "b" }, { zone: "a" }], {
      lb: { policy: "least_request", zoneAware: { enabled: true } },
      pool: { minWarm: 1 },
    });
    const plan = planWarmup(cfg, hostsOf(cfg), "a", true);
    expect(plan).toHaveLength(2);
    expect(plan[0]!.map((t) => t.host.zone)).toEqual(["a", "a"]);
    expect(plan[1]!.map((t) => t.host.zone)).toEqual(["b", "b"]);
    expect(plan[0]!.every((t) => t.why.includes("local zone first"))).toBe(true);
    // Without a local zone there is nothing to put first.
    expect(planWarmup(cfg, hostsOf(cfg), undefined, true)).toHaveLength(1);
  });

  it("without LB direction warms exactly minWarm per endpoint, and nothing when minWarm is 0", () => {
    const weighted = cluster([{ weight: 3 }, { weight: 1 }], {
      lb: { policy: "weighted_round_robin" },
      pool: { minWarm: 2 },
    });
    const plan = planWarmup(weighted, hostsOf(weighted), undefined, false);
    expect(plan).toHaveLength(1);
    expect(targets(plan[0]!)).toEqual({ "10.0.0.1": 2, "10.0.0.2": 2 });
    const none = cluster([{}, {}], { lb: { policy: "least_request" }, pool: { minWarm: 0 } });
    expect(planWarmup(none, hostsOf(none), undefined, false).flat()).toEqual([]);
  });

  it("gives weight-0 endpoints nothing, under every policy", () => {
    for (const policy of ["least_request", "weighted_round_robin", "round_robin", "random", "ring_hash"] as const) {
      for (const lbDirected of [true, false]) {
        const cfg = cluster([{ weight: 2 }, { weight: 0 }, { weight: 1 }], { lb: { policy }, pool: { minWarm: 2 } });
        const planned = planWarmup(cfg, hostsOf(cfg), undefined, lbDirected).flat();
        expect(planned.map((t) => t.host.address).sort()).toEqual(["10.0.0.1", "10.0.0.3"]);
        expect(planned.every((t) => t.target >= 1)).toBe(true);
      }
    }
  });
});

describe("PredictiveScaler", () => {
  const INTERVAL_MS = 250;
  const LATENCY_MS = 20;
  const HEADROOM = 1.5;
  const FLOOR = 3;

  it("raises the target within a tick of a 10× rate step, to ~ceil(rate × latency × headroom), and falls back to the floor", () => {
    const clock = new FakeClock(0);
    const h = host(1);
    let picks = 0;
    const targets: number[] = [];
    const sh: ScalerHost = {
      host: h,
      picks: () => picks,
      latencyMs: () => LATENCY_MS,
      connectMs: () => 10,
      floor: () => FLOOR,
      setTarget: (n) => targets.push(n),
    };
    const scaler = new PredictiveScaler({ clock, intervalMs: INTERVAL_MS, headroom: HEADROOM, hosts: () => [sh] });
    scaler.start();
    /** One scaler interval with `n` picks; returns the target set at its tick. */
    const interval = (n: number): number => {
      picks += n;
      const before = targets.length;
      clock.advance(INTERVAL_MS);
      expect(targets.length).toBe(before + 1);
      return targets.at(-1)!;
    };
    const need = (rps: number) => Math.ceil(((rps * LATENCY_MS) / 1000) * HEADROOM);

    // First tick only records the baseline counter.
    picks = 1_000;
    clock.advance(INTERVAL_MS);
    expect(targets).toEqual([]);
    expect(scaler.state(h)?.target).toBe(FLOOR);

    // 11 picks / 250 ms = 44 rps → 1.32 connections needed: the floor holds.
    const base: number[] = [];
    for (let i = 0; i < 20; i++) base.push(interval(11));
    expect(need(44)).toBeLessThan(FLOOR);
    expect(base.every((t) => t === FLOOR)).toBe(true);
    expect(scaler.state(h)?.rate).toBeCloseTo(44, 9);

    // 10× step: 440 rps → ceil(440 × 0.020 × 1.5) = ceil(13.2) = 14.
    const expected = need(440);
    expect(expected).toBe(14);
    const step: number[] = [];
    for (let i = 0; i < 40; i++) step.push(interval(110));
    console.info(
      `[coord] scaler 44 → 440 rps (latency 20 ms, headroom 1.5, floor 3): targets ${step.slice(0, 8).join(", ")} … ${step.at(-1)}; expected ${expected}`,
    );
    // Within one tick at least the need (the forecast is never below the observed rate)...
    expect(step[0]).toBeGreaterThanOrEqual(expected);
    // ...overshooting the need only modestly while the trend settles...
    expect(Math.max(...step)).toBeLessThanOrEqual(Math.ceil(expected * 1.5));
    // ...and settling on it.
    expect(step.at(-1)).toBe(expected);

    // Back to 44 rps: the target falls to the floor and never goes below it.
    const down: number[] = [];
    for (let i = 0; i < 40; i++) down.push(interval(11));
    console.info(`[coord] scaler 440 → 44 rps: targets ${down.slice(0, 8).join(", ")} … ${down.at(-1)}`);
    const back = down.indexOf(FLOOR);
    expect(back).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThan(10);
    expect(down.slice(back).every((t) => t === FLOOR)).toBe(true);
    expect([...base, ...step, ...down].every((t) => t >= FLOOR)).toBe(true);

    // Idle: no picks at all still keeps the floor.
    for (let i = 0; i < 10; i++) expect(interval(0)).toBe(FLOOR);

    scaler.close();
    expect(clock.pending).toBe(0);
    clock.advance(10 * INTERVAL_MS);
    expect(targets.length).toBe(20 + 40 + 40 + 10);
  });

  it("forgets hosts that leave and restarts their baseline when they return", () => {
    const clock = new FakeClock(0);
    const a = host(1);
    const b = host(2);
    const picks = new Map<Host, number>([
      [a, 0],
      [b, 0],
    ]);
    let present = [a, b];
    const mk = (h: Host): ScalerHost => ({
      host: h,
      picks: () => picks.get(h)!,
      latencyMs: () => 10,
      connectMs: () => 0,
      floor: () => 1,
      setTarget: () => {},
    });
    const scaler = new PredictiveScaler({
      clock,
      intervalMs: 100,
      headroom: 1,
      hosts: () => present.map(mk),
    });
    scaler.tick();
    picks.set(a, 10);
    scaler.tick();
    expect(scaler.state(a)?.rate).toBe(100);
    present = [b];
    scaler.tick();
    expect(scaler.state(a)).toBeUndefined();
    // Picks made while it was away are not counted as one burst when it returns.
    picks.set(a, 10_000);
    present = [a, b];
    scaler.tick();
    expect(scaler.state(a)?.rate).toBe(0);
    picks.set(a, 10_005);
    scaler.tick();
    expect(scaler.state(a)?.rate).toBe(50);
  });
});
