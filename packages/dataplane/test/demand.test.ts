/**
 * Demand-driven pre-connect (coord/demand.ts, issue #15's 10× step): the cluster's meter on
 * paused time, a pool that opens ahead from it against a real simulator endpoint, and the
 * predictiveScaleUp switch that turns it off.
 */
import { ClusterSchema } from "@meshtune/contracts";
import { FakeClock, type Simulator } from "@meshtune/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterPools } from "../src/cluster/pools.js";
import { AHEAD, DemandMeter, spareWanted } from "../src/coord/demand.js";
import { ConnectionPool, Host, MAX_CONNECTING } from "../src/index.js";
import { eventually, sim } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `n` arrivals `gapMs` apart on `clock`. */
function arrivals(m: DemandMeter, clock: FakeClock, n: number, gapMs: number): void {
  for (let i = 0; i < n; i++) {
    if (i > 0) clock.advance(gapMs);
    m.arrive(clock.now());
  }
}

describe("demand meter", () => {
  it("reads the cluster's rate over the last 10 ms, so a 10× step shows within its first arrivals", () => {
    const clock = new FakeClock();
    const m = new DemandMeter(1.5);
    m.setPools(5);
    m.connected(25);
    // 50 rps: one arrival per 20 ms, one in any 10 ms window.
    arrivals(m, clock, 10, 20);
    expect(m.rate).toBeCloseTo(0.1);
    // 10 rps per pool x 25 ms x 1.5 = 0.375: one spare connection per pool.
    expect(m.spare()).toBe(1);
    // The step to 500 rps (2 ms apart): by its third arrival, 4 ms in.
    clock.advance(20);
    arrivals(m, clock, 3, 2);
    expect(m.rate).toBeCloseTo(0.3);
    // 60 rps per pool x 25 ms x 1.5 = 2.25.
    expect(m.spare()).toBe(3);
    arrivals(m, clock, 10, 2);
    // 500 rps: 100 per pool x 25 ms x 1.5 = 3.75.
    expect(m.spare()).toBe(4);
    // Traffic falls back: the window forgets at once.
    clock.advance(100);
    m.arrive(clock.now());
    expect(m.spare()).toBe(1);
  });

  it("announces a rising spare once (the cluster tops every pool up), not on every arrival", () => {
    const clock = new FakeClock();
    let rises = 0;
    const m = new DemandMeter(1.5, () => rises++);
    m.setPools(5);
    m.connected(25);
    arrivals(m, clock, 50, 20);
    // The first arrival announced spare 1; 50 rps holds it there.
    expect(rises).toBe(1);
    clock.advance(20);
    arrivals(m, clock, 3, 2);
    // 2 then 3 within the step's first 4 ms.
    expect(rises).toBe(3);
    arrivals(m, clock, 200, 2);
    // 4 at 500 rps; the window's count wobbles by one, re-announced at most once per 10 ms.
    expect(rises).toBeGreaterThanOrEqual(4);
    expect(rises).toBeLessThanOrEqual(10);
  });

  it("opens nothing ahead before a connect time is known", () => {
    const clock = new FakeClock();
    const m = new DemandMeter(1.5);
    arrivals(m, clock, 20, 1);
    expect(m.spare()).toBe(0);
  });

  it("takes a faster connect at once and a slower one slowly (a contended moment is not the cost)", () => {
    const m = new DemandMeter(1);
    m.connected(200);
    m.connected(25);
    expect(m.connectMs).toBe(25);
    m.connected(125);
    expect(m.connectMs).toBeCloseTo(27);
  });

  it("counts a burst of simultaneous requests as what arrived, not as an unbounded rate", () => {
    const clock = new FakeClock();
    const m = new DemandMeter(1);
    m.connected(25);
    arrivals(m, clock, 1000, 0);
    // At most 64 remembered: 6.4 per ms.
    expect(m.rate).toBeCloseTo(6.4);
  });

  it("opens nothing ahead while connects are saturated (3× the cheapest recent one), and again once they recover", () => {
    const clock = new FakeClock();
    const m = new DemandMeter(1.5);
    m.connected(25);
    arrivals(m, clock, 5, 2);
    expect(m.spare()).toBeGreaterThan(0);
    for (const ms of [100, 120, 110]) m.connected(ms);
    expect(m.saturated).toBe(true);
    expect(m.spare()).toBe(0);
    for (let i = 0; i < 4; i++) m.connected(25);
    expect(m.saturated).toBe(false);
    expect(m.spare()).toBeGreaterThan(0);
  });

  it("adds at most 2 to the refill threshold (a batch of requests is not a rate), and nothing without a meter", () => {
    expect(spareWanted(40, 1)).toBe(3);
    expect(spareWanted(2, 1)).toBe(2);
    expect(spareWanted(0, 1)).toBe(1);
    expect(spareWanted(40, 0)).toBe(2);
    expect(spareWanted(undefined, 1)).toBe(1);
  });
});

async function setup(demand: DemandMeter | undefined) {
  const s: Simulator = await sim([{ name: "a" }]);
  cleanup.push(() => s.close());
  const clock = new FakeClock();
  const cfg = ClusterSchema.parse({
    name: "c",
    discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: s.endpoints[0]!.port }] },
    pool: { minWarm: 3, refillThreshold: 1, maxConnections: 64 },
  });
  const host = new Host({ address: "127.0.0.1", port: s.endpoints[0]!.port, weight: 1 }, 0);
  const base = { pool: cfg.pool, tls: cfg.tls, healthCheck: cfg.healthCheck };
  const p = new ConnectionPool(host, base, clock);
  cleanup.push(() => p.close());
  expect((await p.warm(3, { healthCheck: false })).ready).toBe(3);
  // The meter joins after warm-up: on paused time the real connects measure 0 ms.
  if (demand) p.updateSettings({ ...base, demand });
  return { s, clock, p };
}

describe("pool: demand-driven pre-connect", () => {
  it("opens ahead of a step on its first acquire after the cluster's rate jumps, before any request waits", async () => {
    const m = new DemandMeter(1.5);
    m.setPools(5);
    m.connected(25);
    const { s, clock, p } = await setup(m);
    // The other four pools' arrivals in the step's first 8 ms (500 rps across five pools).
    for (let i = 0; i < 4; i++) m.arrive(clock.now() - 8 + 2 * i);
    const a = await p.acquire();
    if (!a.ok) throw new Error(a.detail);
    // 5 arrivals in 10 ms = 500 rps: 100 per pool x 25 ms x 1.5 -> 4 spare, capped at
    // refillThreshold 1 + 2 = 3. Two idle remain: one more opens now, while nobody waits.
    expect(p.connecting).toBe(1);
    expect(p.pending).toBe(0);
    await eventually(() => p.idle === 3 && p.active === 1);
    expect(s.endpoints[0]!.stats().connectionsAccepted).toBe(4);
    p.release(a.conn);
  });

  it("at a steady low rate keeps only the refill threshold, as without the meter", async () => {
    const m = new DemandMeter(1.5);
    m.setPools(5);
    m.connected(25);
    const { clock, p } = await setup(m);
    for (let i = 0; i < 5; i++) {
      clock.advance(20);
      const a = await p.acquire();
      if (!a.ok) throw new Error(a.detail);
      p.release(a.conn);
    }
    expect(p.connecting).toBe(0);
    expect(p.total).toBe(3);
  });

  it("without a meter (predictiveScaleUp off) the same acquire opens nothing ahead", async () => {
    const { clock, p } = await setup(undefined);
    clock.advance(8);
    const a = await p.acquire();
    if (!a.ok) throw new Error(a.detail);
    expect(p.connecting).toBe(0);
    expect(p.total).toBe(3);
    p.release(a.conn);
  });

  it("holds at most refillThreshold + 2 ahead however high the rate reads, within MAX_CONNECTING", async () => {
    const m = new DemandMeter(10);
    m.connected(1_000);
    const { p } = await setup(m);
    const held = [];
    for (let i = 0; i < 3; i++) {
      const a = await p.acquire();
      if (!a.ok) throw new Error(a.detail);
      held.push(a.conn);
      expect(p.connecting).toBeLessThanOrEqual(MAX_CONNECTING);
    }
    // Three warm connections handed out: 1 + AHEAD = 3 opening, not one per request.
    expect(p.connecting).toBe(1 + AHEAD);
    for (const c of held) p.release(c);
  });
});

describe("cluster pools: the predictiveScaleUp switch", () => {
  it("shares one meter among the pools only while predictiveScaleUp is on", () => {
    const clock = new FakeClock();
    const on = ClusterSchema.parse({
      name: "c",
      discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: 1 }] },
    });
    const off = ClusterSchema.parse({
      name: "c",
      discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: 1 }] },
      coordination: { predictiveScaleUp: false },
    });
    const pools = new ClusterPools(on, clock, undefined);
    const a = pools.add(new Host({ address: "127.0.0.1", port: 1, weight: 1 }, 0), () => {});
    const b = pools.add(new Host({ address: "127.0.0.1", port: 2, weight: 1 }, 0), () => {});
    cleanup.push(() => pools.close());
    expect(a.settings.demand).toBeInstanceOf(DemandMeter);
    expect(a.settings.demand).toBe(b.settings.demand);
    pools.setConfig(off);
    pools.applySettings(() => 0);
    expect(a.settings.demand).toBeUndefined();
    expect(b.settings.demand).toBeUndefined();
  });
});
