/**
 * Load-balancer policies, table-driven on paused time (FakeClock) and seeded randomness, so every
 * figure below is reproducible. Figures are printed (console.info) for the PR description.
 */

import { type Endpoint, type LoadBalancerConfig, LoadBalancerSchema } from "@meshtune/contracts";
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../src/clock.js";
import { type FlagListener, flagWriter, type Host, HostSet, type MembershipListener } from "../src/host.js";
import { murmur3 } from "../src/lb/hash.js";
import { createLoadBalancer, createPolicy } from "../src/lb/index.js";
import { RingHashLoadBalancer } from "../src/lb/ring-hash.js";
import type { HostSource } from "../src/lb/source.js";
import type { LbDeps, LoadBalancer, PickContext } from "../src/lb/types.js";
import { WeightedRoundRobinLoadBalancer } from "../src/lb/weighted-round-robin.js";
import { effectiveWeight } from "../src/lb/weights.js";
import { ZoneAwareLoadBalancer } from "../src/lb/zone-aware.js";

type EndpointSpec = Partial<Endpoint> & { name?: string };

function endpoints(specs: EndpointSpec[]): Endpoint[] {
  return specs.map((s, i) => ({
    address: s.address ?? `10.0.0.${i + 1}`,
    port: s.port ?? 443,
    weight: s.weight ?? 1,
    ...(s.zone !== undefined ? { zone: s.zone } : {}),
  }));
}

function lbConfig(input: Record<string, unknown>): LoadBalancerConfig {
  return LoadBalancerSchema.parse(input);
}

interface Fixture {
  clock: FakeClock;
  hosts: HostSet;
  lb: LoadBalancer;
  /** hosts by index of the spec they came from. */
  h: Host[];
}

function fixture(
  specs: EndpointSpec[],
  lb: Record<string, unknown>,
  deps: Partial<Omit<LbDeps, "clock">> & { seed?: number; clock?: FakeClock } = {},
): Fixture {
  const clock = deps.clock ?? new FakeClock(1_000_000);
  const hosts = new HostSet(() => clock.now());
  hosts.update(endpoints(specs));
  const { seed, clock: _c, ...rest } = deps;
  const balancer = createLoadBalancer(hosts, lbConfig(lb), {
    clock,
    random: seededRandom(seed ?? 42),
    ...rest,
  });
  return { clock, hosts, lb: balancer, h: [...hosts.hosts] };
}

/** Fraction of `n` picks that went to each host (keyed by host.key); "none" counts undefined picks. */
function shares(lb: LoadBalancer, n: number, ctx?: PickContext | (() => PickContext)): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const c = typeof ctx === "function" ? ctx() : ctx;
    const key = lb.pick(c)?.host.key ?? "none";
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [k, v] of counts) counts.set(k, v / n);
  return counts;
}

function share(s: Map<string, number>, host: Host): number {
  return s.get(host.key) ?? 0;
}

/**
 * Closed-loop-ish load: one request per tick, each holds host.inFlight for `latency(host)` ticks.
 * Returns the share of requests each host received after a warm-up of `warmup` ticks.
 */
function simulate(
  lb: LoadBalancer,
  ticks: number,
  latency: (h: Host) => number,
  opts: { warmup?: number; perTick?: number; onTick?: (t: number) => void } = {},
): Map<Host, number> {
  const due = new Map<number, Host[]>();
  const counts = new Map<Host, number>();
  const warmup = opts.warmup ?? 0;
  const perTick = opts.perTick ?? 1;
  let counted = 0;
  for (let t = 0; t < ticks; t++) {
    opts.onTick?.(t);
    for (const h of due.get(t) ?? []) h.inFlight--;
    due.delete(t);
    for (let r = 0; r < perTick; r++) {
      const picked = lb.pick();
      if (picked === undefined) continue;
      const h = picked.host;
      h.inFlight++;
      const end = t + Math.max(1, Math.round(latency(h)));
      const list = due.get(end);
      if (list) list.push(h);
      else due.set(end, [h]);
      if (t >= warmup) {
        counts.set(h, (counts.get(h) ?? 0) + 1);
        counted++;
      }
    }
  }
  for (const list of due.values()) for (const h of list) h.inFlight--;
  for (const [h, c] of counts) counts.set(h, c / counted);
  return counts;
}

/** A HostSource that counts live subscriptions, to check that close() unsubscribes. */
class CountingSource implements HostSource {
  subscriptions = 0;
  constructor(private readonly inner: HostSet) {}
  get hosts(): readonly Host[] {
    return this.inner.hosts;
  }
  onChange(l: MembershipListener): () => void {
    this.subscriptions++;
    const u = this.inner.onChange(l);
    return () => {
      this.subscriptions--;
      u();
    };
  }
  onFlagChange(l: FlagListener): () => void {
    this.subscriptions++;
    const u = this.inner.onFlagChange(l);
    return () => {
      this.subscriptions--;
      u();
    };
  }
}

const writer = (clock: FakeClock) => flagWriter("failed_active_hc", () => clock.now());
const ALL_POLICIES = ["round_robin", "weighted_round_robin", "least_request", "ring_hash", "random"] as const;

describe("murmur3", () => {
  it.each([
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["hello", 0, 0x248bfa47],
    ["The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723],
  ])("murmur3(%j, %d) matches the reference vector", (s, seed, want) => {
    expect(murmur3(s, seed)).toBe(want);
  });

  it("hashes the UTF-8 bytes, like TextEncoder (BMP, astral and lone-surrogate input)", () => {
    for (const str of ["zürich", "東京", "😀-user", "bad\ud800x", "x".repeat(37)]) {
      expect(murmur3(str)).toBe(murmur3Bytes(new TextEncoder().encode(str)));
    }
  });
});

/** Byte-array reference implementation (straight from smhasher's MurmurHash3_x86_32). */
function murmur3Bytes(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed;
  const nblocks = data.length >> 2;
  for (let i = 0; i < nblocks; i++) {
    let k = data[i * 4]! | (data[i * 4 + 1]! << 8) | (data[i * 4 + 2]! << 16) | (data[i * 4 + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = nblocks * 4;
  const rem = data.length & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= data[tail + 2]! << 16;
    if (rem >= 2) k ^= data[tail + 1]! << 8;
    k ^= data[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe("distribution", () => {
  const N = 10_000;
  // [policy, weights, expected share per host, tolerance (absolute)]
  const table: Array<[string, number[], number[], number]> = [
    ["round_robin", [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.001],
    ["round_robin", [1, 5, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.001], // plain RR ignores weights
    ["weighted_round_robin", [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], 0.001],
    ["weighted_round_robin", [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.001],
    ["random", [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.02],
    ["random", [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], 0.02],
    // No in-flight load and equal weights: P2C ties break on the random first candidate → uniform.
    ["least_request", [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.02],
    // No header: a random point on the ring, so shares follow the arcs (points ∝ weight).
    ["ring_hash", [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], 0.05],
    ["ring_hash", [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], 0.05],
  ];
  it.each(table)("%s with weights %j", (policy, weights, want, tol) => {
    const f = fixture(
      weights.map((weight) => ({ weight })),
      { policy },
    );
    const s = shares(f.lb, N);
    const got = f.h.map((h) => share(s, h));
    console.info(
      `[lb] ${policy} weights=${JSON.stringify(weights)} shares=${JSON.stringify(got.map((x) => +x.toFixed(4)))}`,
    );
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol);
    f.lb.close();
  });

  it("weighted_round_robin is smooth (nginx): {5,1,1} interleaves as a rotation of a a b a c a a", () => {
    const f = fixture([{ weight: 5 }, { weight: 1 }, { weight: 1 }], { policy: "weighted_round_robin" });
    const names = new Map(f.h.map((h, i) => [h, "abc"[i]!]));
    const seq = Array.from({ length: 7 }, () => names.get(f.lb.pick()!.host)).join("");
    const cycle = "aabacaa";
    expect((cycle + cycle).includes(seq)).toBe(true);
  });

  it("weighted_round_robin starts at a random phase, so proxies do not all hit the heaviest host first", () => {
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const f = fixture([{ weight: 5 }, { weight: 1 }, { weight: 1 }], { policy: "weighted_round_robin" }, { seed });
      firsts.add(f.lb.pick()!.host.key);
    }
    expect(firsts.size).toBeGreaterThan(1);
  });
});

describe.each(ALL_POLICIES)("availability and exclusion: %s", (policy) => {
  const specs = [{ weight: 1 }, { weight: 2 }, { weight: 3 }, { weight: 4 }, { weight: 0 }];

  it("never picks a flagged or zero-weight host", () => {
    const f = fixture(specs, { policy });
    writer(f.clock).set(f.h[3]!, "test");
    let i = 0;
    const s = shares(f.lb, 2_000, () => ({ headers: { "x-user-id": `u${i++}` } }));
    expect(share(s, f.h[3]!)).toBe(0);
    expect(share(s, f.h[4]!)).toBe(0);
    expect(s.get("none")).toBeUndefined();
  });

  it("skips excluded hosts, and returns undefined rather than an excluded one", () => {
    const f = fixture(specs, { policy });
    const exclude = new Set([f.h[2]!, f.h[3]!]);
    const s = shares(f.lb, 2_000, { exclude, headers: { "x-user-id": "alice" } });
    expect(share(s, f.h[2]!)).toBe(0);
    expect(share(s, f.h[3]!)).toBe(0);
    expect(share(s, f.h[0]!) + share(s, f.h[1]!)).toBe(1);
    expect(f.lb.pick({ exclude: new Set(f.h.slice(0, 4)) })).toBeUndefined();
  });

  it("returns undefined when nothing is available, and recovers when a host comes back", () => {
    const f = fixture(specs, { policy });
    const w = writer(f.clock);
    for (const h of f.h) w.set(h, "down");
    expect(f.lb.pick()).toBeUndefined();
    w.clear(f.h[1]!);
    expect(f.lb.pick()?.host).toBe(f.h[1]);
  });

  it("notices a control-plane weight push to 0 at the next pick", () => {
    const f = fixture([{ weight: 1 }, { weight: 1 }], { policy });
    f.h[0]!.overrideWeight = 0;
    const s = shares(f.lb, 200);
    expect(share(s, f.h[0]!)).toBe(0);
  });

  it("close() removes every subscription", () => {
    const clock = new FakeClock(0);
    const hs = new HostSet(() => clock.now());
    hs.update(endpoints(specs));
    const src = new CountingSource(hs);
    const cfg = lbConfig({ policy, zoneAware: { enabled: true } });
    const lb = new ZoneAwareLoadBalancer(src, cfg.zoneAware, "z1", (s) =>
      createPolicy(s, cfg, { clock, random: seededRandom(1) }),
    );
    lb.pick();
    expect(src.subscriptions).toBeGreaterThan(0);
    lb.close();
    expect(src.subscriptions).toBe(0);
  });
});

describe("least_request", () => {
  it("exposes the in-flight count as the score when weights are equal, and prefers the less loaded host", () => {
    const f = fixture([{}, {}, {}, {}], { policy: "least_request" });
    f.h.forEach((h, i) => {
      h.inFlight = i; // 0, 1, 2, 3
    });
    const s = shares(f.lb, 10_000);
    const got = f.h.map((h) => share(s, h));
    console.info(`[lb] least_request P2C, in-flight 0/1/2/3 → shares ${JSON.stringify(got.map((x) => +x.toFixed(4)))}`);
    // Distinct pairs of 4: host i wins the pairs with every host above it: 3/6, 2/6, 1/6, 0.
    expect(got[0]).toBeCloseTo(0.5, 1);
    expect(got[3]).toBe(0);
    const r = f.lb.pick()!;
    expect(r.score).toBe(r.host.inFlight);
  });

  it("uses (inFlight + 1)^bias / weight when weights differ", () => {
    const f = fixture([{ weight: 1 }, { weight: 4 }], { policy: "least_request" });
    f.h[1]!.inFlight = 2; // 4 / 3 > 1 / 1: the heavy host still wins
    let r = f.lb.pick()!;
    expect(r.host).toBe(f.h[1]);
    expect(r.score).toBeCloseTo(3 / 4);
    f.h[1]!.inFlight = 4; // 4 / 5 < 1: the light host wins now
    r = f.lb.pick()!;
    expect(r.host).toBe(f.h[0]);
    expect(r.score).toBeCloseTo(1);
  });

  it("under load sends each host a share proportional to its weight (bias 1)", () => {
    const f = fixture([{ weight: 1 }, { weight: 3 }], { policy: "least_request" });
    // 100 requests in flight at steady state (1 per tick, 100 ticks each).
    const s = simulate(f.lb, 20_000, () => 100, { warmup: 2_000 });
    const heavy = s.get(f.h[1]!) ?? 0;
    console.info(`[lb] least_request weights 1:3 under load → heavy share ${heavy.toFixed(4)} (ideal 0.75)`);
    expect(Math.abs(heavy - 0.75)).toBeLessThan(0.03);
  });

  it("starves a slow host: one of five at 10× latency", () => {
    const f = fixture([{}, {}, {}, {}, {}], { policy: "least_request" });
    const slow = f.h[4]!;
    const s = simulate(f.lb, 50_000, (h) => (h === slow ? 200 : 20), { warmup: 5_000, perTick: 2 });
    const got = s.get(slow) ?? 0;
    console.info(
      `[lb] least_request, 1 of 5 hosts 10× slower → its share ${(got * 100).toFixed(2)}% (round robin: 20%)`,
    );
    expect(got).toBeLessThan(0.05);
  });

  it("takes a custom score function (issue #5 hook) and surfaces its terms", () => {
    const f = fixture(
      [{}, {}, {}],
      { policy: "least_request" },
      {
        // Pretend hosts 0 and 1 have no idle connection: their next request pays a handshake.
        scoreOf: (h) => {
          const pressure = h.key === "10.0.0.3:443" ? 0 : 10;
          return { score: h.inFlight + pressure, terms: { inFlight: h.inFlight, poolPressure: pressure } };
        },
      },
    );
    const s = shares(f.lb, 1_000);
    // Host 3 wins whenever it is one of the two candidates: 2/3 of the pairs.
    expect(share(s, f.h[2]!)).toBeCloseTo(2 / 3, 1);
    const r = f.lb.pick()!;
    expect(r.terms).toHaveProperty("poolPressure");
  });

  it("honours choiceCount: with 4 of 5 choices the most loaded host is never picked", () => {
    const f = fixture([{}, {}, {}, {}, {}], { policy: "least_request", choiceCount: 4 });
    f.h.forEach((h, i) => {
      h.inFlight = 10 - i;
    });
    const s = shares(f.lb, 5_000);
    // The two most loaded hosts lose every 4-subset they are part of: each subset holds a less loaded host.
    expect(share(s, f.h[0]!)).toBe(0);
    expect(share(s, f.h[1]!)).toBe(0);
    expect(share(s, f.h[4]!)).toBeCloseTo(4 / 5, 1);
  });
});

describe("ring_hash", () => {
  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const ctx = (u: string) => ({ headers: { "x-user-id": u } });

  it("maps the same header value to the same host, on every proxy (independent of seed and build order)", () => {
    const a = fixture([{}, {}, {}, {}, {}], { policy: "ring_hash" }, { seed: 1 });
    const b = fixture([{}, {}, {}, {}, {}].reverse(), { policy: "ring_hash" }, { seed: 99 });
    for (const u of users.slice(0, 2_000)) {
      const first = a.lb.pick(ctx(u))!.host.key;
      expect(a.lb.pick(ctx(u))!.host.key).toBe(first);
      expect(b.lb.pick(ctx(u))!.host.key).toBe(first);
    }
  });

  it("reads the configured header lower-cased", () => {
    const f = fixture([{}, {}, {}], { policy: "ring_hash", ringHash: { header: "X-Tenant" } });
    const picks = new Set(Array.from({ length: 50 }, () => f.lb.pick({ headers: { "x-tenant": "acme" } })!.host));
    expect(picks.size).toBe(1);
  });

  it("remaps only the removed host's keys when one of 10 hosts leaves, and ~1/11 when one joins", () => {
    const specs = Array.from({ length: 10 }, () => ({}));
    const f = fixture(specs, { policy: "ring_hash" });
    const before = users.map((u) => f.lb.pick(ctx(u))!.host);
    const removed = f.h[5]!;
    f.hosts.update(endpoints(specs).filter((e) => e.address !== removed.address));
    const after = users.map((u) => f.lb.pick(ctx(u))!.host);
    let moved = 0;
    let movedFromOthers = 0;
    for (let i = 0; i < users.length; i++) {
      if (before[i] !== after[i]) {
        moved++;
        if (before[i] !== removed) movedFromOthers++;
      }
    }
    const fraction = moved / users.length;
    console.info(
      `[lb] ring_hash remove 1 of 10: remapped ${(fraction * 100).toFixed(2)}% of 10k keys (ideal 10%), ${movedFromOthers} from surviving hosts`,
    );
    expect(fraction).toBeLessThanOrEqual(0.15);
    expect(movedFromOthers).toBe(0);

    // Add an 11th host.
    f.hosts.update([
      ...endpoints(specs).filter((e) => e.address !== removed.address),
      ...endpoints([{ address: "10.0.1.1" }]),
    ]);
    f.hosts.update([...endpoints(specs), ...endpoints([{ address: "10.0.1.1" }])]);
    const grown = users.map((u) => f.lb.pick(ctx(u))!.host);
    let movedOnAdd = 0;
    let movedElsewhere = 0;
    for (let i = 0; i < users.length; i++) {
      const was = before[i]!.key;
      const now = grown[i]!.key;
      if (was !== now) {
        movedOnAdd++;
        if (now !== "10.0.1.1:443") movedElsewhere++;
      }
    }
    console.info(
      `[lb] ring_hash add an 11th host: remapped ${((movedOnAdd / users.length) * 100).toFixed(2)}% (ideal 9.09%)`,
    );
    expect(movedOnAdd / users.length).toBeLessThanOrEqual(0.15);
    expect(movedElsewhere).toBe(0);
  });

  it("walks to the next available host when the owner is down, and returns keys when it recovers", () => {
    const f = fixture([{}, {}, {}, {}, {}], { policy: "ring_hash" });
    const w = writer(f.clock);
    const before = users.slice(0, 3_000).map((u) => f.lb.pick(ctx(u))!.host);
    const down = f.h[2]!;
    w.set(down, "test");
    const during = users.slice(0, 3_000).map((u) => f.lb.pick(ctx(u))!.host);
    for (let i = 0; i < before.length; i++) {
      expect(during[i]).not.toBe(down);
      if (before[i] !== down) expect(during[i]).toBe(before[i]);
    }
    w.clear(down);
    const afterRecovery = users.slice(0, 3_000).map((u) => f.lb.pick(ctx(u))!.host);
    expect(afterRecovery).toEqual(before);
  });

  it("sends requests without the header (or with an empty one) to random hosts", () => {
    const f = fixture([{}, {}, {}, {}], { policy: "ring_hash" });
    expect(shares(f.lb, 4_000).size).toBe(4);
    expect(shares(f.lb, 4_000, { headers: { "x-user-id": "" } }).size).toBe(4);
  });

  it("builds at least minRingSize points, spread by weight", () => {
    const clock = new FakeClock(0);
    const hs = new HostSet(() => clock.now());
    hs.update(endpoints([{ weight: 1 }, { weight: 3 }]));
    const cfg = lbConfig({ policy: "ring_hash", ringHash: { minRingSize: 1000 } });
    const lb = new RingHashLoadBalancer(hs, cfg.ringHash, { random: seededRandom(1) });
    expect(lb.ringSize).toBeGreaterThanOrEqual(1000);
    expect(lb.ringSize).toBe(1024); // k = 256 points per unit of weight
  });
});

describe("slow start", () => {
  const slowStart = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

  it("effectiveWeight follows Envoy's formula", () => {
    const clock = new FakeClock(0);
    const hs = new HostSet(() => clock.now());
    hs.update(endpoints([{ weight: 10 }]));
    const h = hs.hosts[0]!;
    expect(effectiveWeight(h, slowStart, 0)).toBeCloseTo(1); // floor: 10%
    expect(effectiveWeight(h, slowStart, 5_000)).toBeCloseTo(5);
    expect(effectiveWeight(h, { ...slowStart, aggression: 2 }, 2_500)).toBeCloseTo(10 * Math.sqrt(0.25));
    expect(effectiveWeight(h, slowStart, 10_000)).toBe(10);
    expect(effectiveWeight(h, { ...slowStart, windowMs: 0 }, 0)).toBe(10);
  });

  // A fourth host joins three established ones; its share grows over the window.
  // Expected share at factor f: f / (3 + f).
  it.each(["weighted_round_robin", "random"] as const)("%s ramps a new host's share over the window", (policy) => {
    const clock = new FakeClock(0);
    const specs = [{}, {}, {}];
    const f = fixture(specs, { policy, slowStart }, { clock });
    clock.advance(60_000); // the first three are long out of their window
    f.hosts.update(endpoints([...specs, { address: "10.0.0.9" }]));
    const fresh = f.hosts.get("10.0.0.9:443")!;
    const points: Array<[number, number, number]> = [];
    for (const t of [0, 2_500, 5_000, 7_500, 10_000]) {
      if (t > 0) clock.advance(2_500);
      const factor = Math.max(0.1, t / 10_000);
      const got = share(shares(f.lb, 10_000), fresh);
      points.push([t, got, factor / (3 + factor)]);
    }
    console.info(
      `[lb] ${policy} slow start share of the new host (t ms, got, Envoy-formula expectation): ${JSON.stringify(points.map(([t, g, e]) => [t, +g.toFixed(4), +e.toFixed(4)]))}`,
    );
    for (let i = 1; i < points.length; i++) expect(points[i]![1]).toBeGreaterThan(points[i - 1]![1]);
    for (const [, got, want] of points) expect(Math.abs(got - want)).toBeLessThan(0.02);
  });

  it("least_request ramps a new host's share under load", () => {
    const clock = new FakeClock(0);
    const specs = [{}, {}, {}];
    const f = fixture(specs, { policy: "least_request", slowStart }, { clock });
    clock.advance(60_000);
    f.hosts.update(endpoints([...specs, { address: "10.0.0.9" }]));
    const fresh = f.hosts.get("10.0.0.9:443")!;
    const got: number[] = [];
    for (let phase = 0; phase < 5; phase++) {
      // 40 in flight; each phase advances the clock 2.5 s over its ticks.
      const s = simulate(f.lb, 2_500, () => 40, { warmup: 500, onTick: () => clock.advance(1) });
      got.push(s.get(fresh) ?? 0);
    }
    console.info(
      `[lb] least_request slow start share of the new host per 2.5 s phase: ${JSON.stringify(got.map((x) => +x.toFixed(4)))}`,
    );
    expect(got[0]!).toBeLessThan(0.12);
    expect(got[4]!).toBeGreaterThan(0.2);
    expect(got[4]!).toBeGreaterThan(got[0]! * 2);
  });

  it("restarts after recovery from a flag (Envoy: host becomes healthy again)", () => {
    const clock = new FakeClock(0);
    const f = fixture([{}, {}, {}, {}], { policy: "weighted_round_robin", slowStart }, { clock });
    clock.advance(60_000);
    const w = writer(clock);
    w.set(f.h[0]!, "down");
    clock.advance(1_000);
    w.clear(f.h[0]!);
    // Factor 0.1 right after recovery → 0.1 / 3.1 ≈ 3.2%.
    expect(share(shares(f.lb, 10_000), f.h[0]!)).toBeLessThan(0.05);
    clock.advance(10_000);
    expect(share(shares(f.lb, 10_000), f.h[0]!)).toBeCloseTo(0.25, 2);
  });

  it("weighted_round_robin precomputes its schedule outside the ramp and runs live during it", () => {
    const clock = new FakeClock(0);
    const hs = new HostSet(() => clock.now());
    hs.update(endpoints([{ weight: 2 }, { weight: 3 }]));
    const lb = new WeightedRoundRobinLoadBalancer(hs, slowStart, { clock, random: seededRandom(1) });
    lb.pick();
    expect(lb.mode).toBe("live");
    clock.advance(10_000);
    lb.pick();
    expect(lb.mode).toBe("schedule");
  });
});

describe("zone-aware", () => {
  const specs = [{ zone: "a" }, { zone: "a" }, { zone: "a" }, { zone: "b" }, { zone: "b" }, { zone: "b" }];
  const zoneAware = { enabled: true, minHealthyPercent: 70, maxInFlightPerEndpoint: 5 };

  it.each(ALL_POLICIES)(
    "%s: keeps traffic local, spills when the local zone is unhealthy, returns when it heals",
    (policy) => {
      const f = fixture(specs, { policy, zoneAware }, { localZone: "a" });
      const lb = f.lb as ZoneAwareLoadBalancer;
      expect(lb).toBeInstanceOf(ZoneAwareLoadBalancer);
      const local = f.h.slice(0, 3);
      const remote = f.h.slice(3);
      const sum = (s: Map<string, number>, hs: Host[]) => hs.reduce((a, h) => a + share(s, h), 0);

      let s = shares(f.lb, 3_000);
      expect(sum(s, local)).toBe(1);
      expect(lb.lastZoneMode).toBe("local");

      // 2 of 3 local hosts available = 66% < 70%: spill over to all available hosts.
      writer(f.clock).set(local[0]!, "down");
      s = shares(f.lb, 3_000);
      expect(lb.lastZoneMode).toBe("spillover");
      expect(lb.lastSpillReason).toBe("unhealthy");
      expect(sum(s, remote)).toBeGreaterThan(0.3);
      expect(share(s, local[0]!)).toBe(0);

      writer(f.clock).clear(local[0]!);
      s = shares(f.lb, 1_000);
      expect(sum(s, local)).toBe(1);
      expect(lb.lastZoneMode).toBe("local");
    },
  );

  it("spills over when the local zone is overloaded (mean in-flight per host above the bound)", () => {
    const f = fixture(specs, { policy: "least_request", zoneAware }, { localZone: "a" });
    const lb = f.lb as ZoneAwareLoadBalancer;
    for (const h of f.h.slice(0, 3)) h.inFlight = 6;
    const r = f.lb.pick()!;
    expect(lb.lastZoneMode).toBe("spillover");
    expect(lb.lastSpillReason).toBe("overloaded");
    expect(r.host.zone).toBe("b"); // least_request over all hosts: remote ones are idle
    for (const h of f.h.slice(0, 3)) h.inFlight = 5;
    f.lb.pick();
    expect(lb.lastZoneMode).toBe("local");
  });

  it("spills over when every local host is excluded by the request's retries", () => {
    const f = fixture(specs, { policy: "round_robin", zoneAware }, { localZone: "a" });
    const lb = f.lb as ZoneAwareLoadBalancer;
    const r = f.lb.pick({ exclude: new Set(f.h.slice(0, 3)) })!;
    expect(r.host.zone).toBe("b");
    expect(lb.lastSpillReason).toBe("local_exhausted");
  });

  it("follows zone changes across host-set updates, and reports disabled without a local zone", () => {
    const f = fixture(specs, { policy: "round_robin", zoneAware }, { localZone: "c" });
    const lb = f.lb as ZoneAwareLoadBalancer;
    f.lb.pick();
    expect(lb.lastSpillReason).toBe("no_local_hosts");
    f.hosts.update(endpoints(specs.map((s, i) => (i < 2 ? { zone: "c" } : s))));
    const s = shares(f.lb, 1_000);
    expect(lb.lastZoneMode).toBe("local");
    expect(share(s, f.h[0]!) + share(s, f.h[1]!)).toBe(1);

    const noZone = fixture(specs, { policy: "round_robin", zoneAware });
    noZone.lb.pick();
    expect((noZone.lb as ZoneAwareLoadBalancer).lastZoneMode).toBe("disabled");
  });
});

describe("hot path", () => {
  it.each(ALL_POLICIES)("%s picks without rebuilding when nothing changed", (policy) => {
    // Not a timing assertion (DESIGN.md section 8: benchmarks, never timed unit tests): just a
    // smoke run of 200k picks over 50 hosts to catch accidental O(n log n) work per pick.
    const f = fixture(
      Array.from({ length: 50 }, (_, i) => ({ weight: 1 + (i % 5) })),
      { policy },
    );
    const start = performance.now();
    for (let i = 0; i < 200_000; i++) f.lb.pick({ headers: { "x-user-id": "u" } });
    const ms = performance.now() - start;
    console.info(
      `[lb] ${policy}: 200k picks over 50 hosts in ${ms.toFixed(1)} ms (${((ms * 1e6) / 200_000).toFixed(0)} ns/pick)`,
    );
  });
});
