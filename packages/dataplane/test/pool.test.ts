/**
 * The per-endpoint pool against a real simulator endpoint, on paused time for its own timers
 * (idle sweep, pending timeout): runtime refill, the warm floor, idle trimming, max requests
 * per connection and the pending-queue circuit breaker.
 */
import { ClusterSchema } from "@meshtune/contracts";
import { FakeClock, type Simulator } from "@meshtune/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionPool, Host, MAX_CONNECTING } from "../src/index.js";
import { eventually, sim } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(pool: Record<string, unknown>, endpoint: Record<string, unknown> = {}, prime = false) {
  const s: Simulator = await sim([{ name: "a", ...endpoint }]);
  cleanup.push(() => s.close());
  const clock = new FakeClock();
  const cfg = ClusterSchema.parse({
    name: "c",
    discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: s.endpoints[0]!.port }] },
    pool,
  });
  const host = new Host({ address: "127.0.0.1", port: s.endpoints[0]!.port, weight: 1 }, 0);
  const p = new ConnectionPool(
    host,
    { pool: cfg.pool, tls: cfg.tls, healthCheck: cfg.healthCheck, primeNewConnections: prime },
    clock,
  );
  cleanup.push(() => p.close());
  return { s, clock, p };
}

async function use(p: ConnectionPool) {
  const a = await p.acquire();
  if (!a.ok) throw new Error(a.detail);
  const r = await a.conn.request({ method: "GET", path: "/" });
  await r.body.dump();
  return a;
}

describe("connection pool", () => {
  it("refills asynchronously when idle connections fall below the threshold", async () => {
    const { s, p } = await setup({ minWarm: 2, refillThreshold: 2 });
    expect((await p.warm(2, { healthCheck: true })).ready).toBe(2);
    const a = await p.acquire();
    if (!a.ok) throw new Error(a.detail);
    // One of two idle taken: idle 1 < threshold 2, a third connection opens in the background.
    await eventually(() => p.idle === 2 && p.active === 1);
    expect(s.endpoints[0]!.stats().connectionsAccepted).toBe(3);
    p.release(a.conn);
  });

  it("primes connections opened ahead of demand with a health check, so no user request is a new connection's first", async () => {
    // The endpoint reads a new connection's first request 50 ms late (a cold upstream worker).
    const { s, p } = await setup({ minWarm: 0, refillThreshold: 0 }, { faults: { acceptDelayMs: 50 } }, true);
    p.setWarmTarget(2);
    await eventually(() => p.idle === 2);
    expect(s.endpoints[0]!.stats().healthChecks).toBe(2);
    // The first user request on each is its first user request: not "reused" (the check was
    // not traffic), so its connect time still reaches the metrics.
    const [a, b] = [await p.acquire(), await p.acquire()];
    expect([a.ok && a.reused, b.ok && b.reused]).toEqual([false, false]);
    expect(p.newCount).toBe(2);
    if (a.ok) p.release(a.conn);
    if (b.ok) p.release(b.conn);
  });

  it("a request arriving while a connection is being primed gets a demand connection, not the check's wait", async () => {
    // Health answers take 800 ms: a waiter must not queue behind the priming check.
    const { s, p } = await setup(
      { minWarm: 0, refillThreshold: 0 },
      { faults: { health: { status: 200, delayMs: 800 } } },
      true,
    );
    p.setWarmTarget(1);
    await eventually(() => s.endpoints[0]!.stats().connectionsAccepted === 1);
    const a = await p.acquire();
    expect(a.ok).toBe(true);
    // Served by a second, demand connection (before the fix it waited for the primed one).
    expect(s.endpoints[0]!.stats().connectionsAccepted).toBe(2);
    if (a.ok) p.release(a.conn);
  });

  it("does not prime without the setting, nor hand over a connection whose priming check failed", async () => {
    const plain = await setup({ minWarm: 0, refillThreshold: 0 });
    plain.p.setWarmTarget(1);
    await eventually(() => plain.p.idle === 1);
    expect(plain.s.endpoints[0]!.stats().healthChecks).toBe(0);

    const failing = await setup({ minWarm: 0, refillThreshold: 0 }, { faults: { health: { status: 503 } } }, true);
    failing.p.setWarmTarget(1);
    await eventually(() => failing.s.endpoints[0]!.stats().healthChecks === 1);
    await eventually(() => failing.p.total === 0);
    expect(failing.p.idle).toBe(0);
  });

  it("trims idle connections after idleTimeoutMs, never below the warm floor", async () => {
    const { p, clock } = await setup({ minWarm: 1, idleTimeoutMs: 10_000, refillThreshold: 0 });
    await p.warm(1, { healthCheck: false });
    const leases = await Promise.all([p.acquire(), p.acquire(), p.acquire()]);
    for (const l of leases) if (l.ok) p.release(l.conn);
    await eventually(() => p.idle === 3);
    clock.advance(5_000);
    expect(p.idle).toBe(3);
    clock.advance(10_000);
    await eventually(() => p.idle === 1);
  });

  it("retires a connection after maxRequestsPerConnection", async () => {
    const { s, p } = await setup({ minWarm: 1, maxRequestsPerConnection: 2, refillThreshold: 0 });
    await p.warm(1, { healthCheck: false });
    const first = await use(p);
    p.release(first.conn);
    const second = await use(p);
    expect(second.conn).toBe(first.conn);
    p.release(second.conn);
    await eventually(() => first.conn.closed);
    const third = await use(p);
    expect(third.conn).not.toBe(first.conn);
    p.release(third.conn);
    expect(s.endpoints[0]!.stats().connectionsAccepted).toBe(2);
  });

  it("queues up to maxPendingRequests, answers overflow beyond, and times queued requests out", async () => {
    const { p, clock } = await setup({ minWarm: 1, maxConnections: 1, maxPendingRequests: 1, pendingTimeoutMs: 500 });
    await p.warm(1, { healthCheck: false });
    const held = await p.acquire();
    expect(held.ok).toBe(true);
    const queued = p.acquire();
    expect(p.pending).toBe(1);
    const overflow = await p.acquire();
    expect(overflow).toMatchObject({ ok: false, reason: "overflow" });
    clock.advance(500);
    expect(await queued).toMatchObject({ ok: false, reason: "pending_timeout" });
    if (held.ok) p.release(held.conn);
  });
});

describe("pool accounting (O(1) counters, one timer per queue, connect cap)", () => {
  it("keeps idle/active/pending exact through acquire, release, cancel and close", async () => {
    const { p } = await setup({ minWarm: 2, maxConnections: 2, refillThreshold: 0, pendingTimeoutMs: 60_000 });
    await p.warm(2, { healthCheck: false });
    expect([p.idle, p.active, p.pending]).toEqual([2, 0, 0]);
    const a = await p.acquire();
    const b = await p.acquire();
    expect([p.idle, p.active]).toEqual([0, 2]);
    const served: string[] = [];
    const w1 = { enqueuedAt: 0, queued: false, onAcquire: () => served.push("w1") };
    const w2 = { enqueuedAt: 0, queued: false, onAcquire: () => served.push("w2") };
    expect(p.acquireFor(w1)).toBeUndefined();
    expect(p.acquireFor(w2)).toBeUndefined();
    expect(p.pending).toBe(2);
    expect(p.cancel(w1)).toBe(true);
    expect(p.cancel(w1)).toBe(false);
    expect(p.pending).toBe(1);
    if (a.ok) p.release(a.conn);
    // The cancelled waiter is skipped; w2 gets the released connection.
    expect(served).toEqual(["w2"]);
    expect([p.idle, p.active, p.pending]).toEqual([0, 2, 0]);
    if (b.ok) b.conn.retire();
    await eventually(() => p.active === 1 && p.idle === 0);
  });

  it("expires queued requests with one timer per pool, oldest first", async () => {
    const { p, clock } = await setup({ minWarm: 1, maxConnections: 1, maxPendingRequests: 10, pendingTimeoutMs: 500 });
    await p.warm(1, { healthCheck: false });
    const held = await p.acquire();
    const first = p.acquire();
    clock.advance(200);
    const second = p.acquire();
    expect(p.pending).toBe(2);
    clock.advance(300);
    expect(await first).toMatchObject({ ok: false, reason: "pending_timeout" });
    expect(p.pending).toBe(1);
    clock.advance(200);
    expect(await second).toMatchObject({ ok: false, reason: "pending_timeout" });
    expect(p.pending).toBe(0);
    if (held.ok) p.release(held.conn);
  });

  it("opens at most MAX_CONNECTING connections at once for a burst of waiters", async () => {
    const { s, p } = await setup({ minWarm: 0, maxConnections: 64, refillThreshold: 0 });
    const burst = Array.from({ length: 20 }, () => p.acquire());
    expect(p.connecting).toBeLessThanOrEqual(MAX_CONNECTING);
    const got = await Promise.all(burst);
    expect(got.every((g) => g.ok)).toBe(true);
    // Each waiter was served, by at most one connection each, never more than it asked for.
    expect(s.endpoints[0]!.stats().connectionsAccepted).toBeLessThanOrEqual(20);
    for (const g of got) if (g.ok) p.release(g.conn);
    expect(p.idle).toBe(p.total);
  });
});
