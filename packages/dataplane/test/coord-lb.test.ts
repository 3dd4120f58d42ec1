/**
 * Least request with the pool-aware score (coordination 3) over a simulated load on paused time:
 * each pick holds host.inFlight for the host's latency, and each host's pool is a view derived
 * from its in-flight count. Seeded randomness, so the printed figures are reproducible.
 */
import { type Cluster, ClusterSchema } from "@meshtune/contracts";
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../src/clock.js";
import { poolAwareScore } from "../src/coord/score.js";
import { type Host, HostSet, type PoolView } from "../src/host.js";
import { createLoadBalancer } from "../src/lb/index.js";
import type { HostScoreFn, LoadBalancer } from "../src/lb/types.js";

const PICKS = 10_000;
/** 5,000 requests/s offered to 5 endpoints. */
const INTERARRIVAL_MS = 0.2;

/**
 * A pool that opens a connection when every open one is busy (up to maxConnections) and keeps it
 * open afterwards (keepIdle), or closes it after each response (no keep-alive: never idle).
 */
class SimPool implements PoolView {
  #opened: number;
  constructor(
    readonly host: Host,
    warm: number,
    readonly maxConnections: number,
    readonly keepIdle: boolean,
  ) {
    this.#opened = keepIdle ? warm : 0;
  }
  get active(): number {
    return Math.min(this.host.inFlight, this.maxConnections);
  }
  get pending(): number {
    return Math.max(0, this.host.inFlight - this.maxConnections);
  }
  get connecting(): number {
    return 0;
  }
  get idle(): number {
    if (!this.keepIdle) return 0;
    this.#opened = Math.max(this.#opened, this.active);
    return this.#opened - this.active;
  }
}

function cluster(): Cluster {
  return ClusterSchema.parse({
    name: "api",
    discovery: {
      type: "static",
      endpoints: [1, 2, 3, 4, 5].map((i) => ({ address: `10.0.0.${i}`, port: 443 })),
    },
    lb: { policy: "least_request" },
    pool: { minWarm: 2, maxConnections: 16 },
  });
}

interface Run {
  hosts: Host[];
  share: Map<Host, number>;
  pickedWithTerms: number;
}

function run(opts: {
  latency: (h: Host, i: number) => number;
  keepIdle?: (i: number) => boolean;
  connectMs: number;
  poolAware: boolean;
  seed?: number;
}): Run {
  const cfg = cluster();
  const clock = new FakeClock(0);
  const set = new HostSet(() => clock.now());
  if (cfg.discovery.type !== "static") throw new Error("static only");
  set.update(cfg.discovery.endpoints);
  const hosts = [...set.hosts];
  const latency = new Map<Host, number>(hosts.map((h, i) => [h, opts.latency(h, i)]));
  hosts.forEach((h, i) => {
    h.pool = new SimPool(h, cfg.pool.minWarm, cfg.pool.maxConnections, opts.keepIdle?.(i) ?? true);
  });
  // The latency estimate comes from a closure map, as cluster.ts's peak-EWMA would provide it.
  const scoreOf: HostScoreFn = (h) => poolAwareScore(h, { latencyMs: latency.get(h)!, connectMs: opts.connectMs });
  const lb: LoadBalancer = createLoadBalancer(set, cfg.lb, {
    clock,
    random: seededRandom(opts.seed ?? 7),
    ...(opts.poolAware ? { scoreOf } : {}),
  });
  const counts = new Map<Host, number>();
  let pickedWithTerms = 0;
  for (let i = 0; i < PICKS; i++) {
    const r = lb.pick();
    if (!r) throw new Error("no host");
    if (r.terms?.poolWaitTerm !== undefined && r.terms.loadTerm !== undefined) pickedWithTerms++;
    const h = r.host;
    counts.set(h, (counts.get(h) ?? 0) + 1);
    h.inFlight++;
    clock.setTimeout(() => {
      h.inFlight--;
    }, latency.get(h)!);
    clock.advance(INTERARRIVAL_MS);
  }
  lb.close();
  const share = new Map(hosts.map((h) => [h, (counts.get(h) ?? 0) / PICKS]));
  return { hosts, share, pickedWithTerms };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

describe("least request with the pool-aware score", () => {
  it("sends a 50 ms endpoint under 1% of 10,000 picks when the others answer in 1 ms", () => {
    const latency = (_h: Host, i: number) => (i === 2 ? 50 : 1);
    const aware = run({ latency, connectMs: 2, poolAware: true });
    const plain = run({ latency, connectMs: 2, poolAware: false });
    const slow = aware.hosts[2]!;
    const slowShare = aware.share.get(slow)!;
    const plainSlowShare = plain.share.get(plain.hosts[2]!)!;
    console.info(
      `[coord] slow host (50 ms vs 1 ms) share of ${PICKS} picks: pool-aware ${pct(slowShare)}, default active-request score ${pct(plainSlowShare)}; pool-aware shares ${aware.hosts.map((h) => pct(aware.share.get(h)!)).join(" / ")}`,
    );
    expect(slowShare).toBeLessThan(0.01);
    // The default in-flight score sees latency only through the in-flight it piles up, so the
    // slow endpoint keeps taking requests until its in-flight matches the others'.
    expect(plainSlowShare).toBeGreaterThan(0.005);
    // The fast endpoints split the traffic evenly.
    for (const h of aware.hosts) if (h !== slow) expect(aware.share.get(h)!).toBeGreaterThan(0.22);
    // Every pick carries the score's terms (explainability).
    expect(aware.pickedWithTerms).toBe(PICKS);
  });

  it("sends markedly less to an endpoint without idle connections under equal load", () => {
    const latency = () => 1;
    const noIdle = (i: number) => i !== 4;
    const aware = run({ latency, keepIdle: noIdle, connectMs: 2, poolAware: true });
    const plain = run({ latency, keepIdle: noIdle, connectMs: 2, poolAware: false });
    const cold = aware.hosts[4]!;
    const coldShare = aware.share.get(cold)!;
    const others = aware.hosts.filter((h) => h !== cold).map((h) => aware.share.get(h)!);
    const meanOthers = others.reduce((a, b) => a + b, 0) / others.length;
    const plainCold = plain.share.get(plain.hosts[4]!)!;
    console.info(
      `[coord] endpoint without idle connections (connect 2 ms, latency 1 ms): pool-aware ${pct(coldShare)} vs ${pct(meanOthers)} mean of the others; default score ${pct(plainCold)}`,
    );
    expect(coldShare).toBeLessThan(meanOthers / 2);
    // Without the pool term the same endpoint takes an equal share.
    expect(plainCold).toBeGreaterThan(0.18);
  });
});
