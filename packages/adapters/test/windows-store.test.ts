/**
 * The window store against real Redis and a real three-node Redis Cluster (started here from
 * the same redis-server binary): cumulative -> delta rules, histograms merged bucket-wise,
 * gauges per proxy, fast signals, and the property the collector's scale-out rests on — two
 * writers that each received some proxies' data leave exactly the windows one writer leaves.
 */
import { type FastSignal, redisKeys } from "@meshtune/contracts";
import { type RedisClusterHandle, startRedisCluster } from "@meshtune/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appendSignals,
  BUCKET_KIND,
  bucketField,
  createRedis,
  createRedisCluster,
  createWindowStore,
  GAUGE,
  gaugeField,
  type RedisLike,
  readClusterWindows,
  type WindowBatch,
  type WindowPoint,
} from "../src/index.js";
import { Closer, randomName, requireRedis } from "./services.js";

const closer = new Closer();
afterAll(() => closer.closeAll(), 60_000);

let cluster: RedisClusterHandle | undefined;
beforeAll(async () => {
  cluster = await startRedisCluster({ nodes: 3 });
  closer.defer(() => cluster?.stop());
}, 60_000);

const EP = "10.0.0.1:443";
const EP2 = "10.0.0.2:443";
const us = (ms: number) => ms * 1000;

function attempts(series: string, startMs: number, timeMs: number, value: number, cls = "2xx", ep = EP): WindowPoint {
  const fail = cls === "5xx" || cls === "error";
  return {
    type: "counter",
    series: `${series}|${ep}|${cls}`,
    startUs: us(startMs),
    timeUs: us(timeMs),
    temporality: "cumulative",
    value,
    field: bucketField(ep, BUCKET_KIND.attempts, cls),
    ...(fail ? { proxyField: bucketField(ep, BUCKET_KIND.failByProxy) } : {}),
  };
}

function latency(series: string, startMs: number, timeMs: number, counts: number[], sum: number): WindowPoint {
  const full = [...counts, ...new Array(15 - counts.length).fill(0)];
  return {
    type: "histogram",
    series: `lat|${series}`,
    startUs: us(startMs),
    timeUs: us(timeMs),
    temporality: "cumulative",
    count: full.reduce((a, b) => a + b, 0),
    sum,
    counts: full,
    field: bucketField(EP, BUCKET_KIND.latency),
  };
}

const backends: Array<[string, () => Promise<RedisLike>]> = [
  [
    "single Redis",
    async () => {
      const r = createRedis(await requireRedis());
      closer.defer(() => r.quit());
      return r;
    },
  ],
  [
    "three-node Redis Cluster",
    async () => {
      const r = createRedisCluster(cluster!.nodes);
      closer.defer(() => r.quit());
      return r;
    },
  ],
];

describe.each(backends)("window store on %s", (_name, connect) => {
  it("converts cumulative points to deltas: first sight, increase, duplicate, out of order, reset, restart", async () => {
    const redis = await connect();
    const prefix = randomName("win");
    const store = createWindowStore(redis, { prefix });
    const now = Date.now();
    const t0 = now - 30_000;
    const write = (points: WindowPoint[], proxy = "p1") =>
      store.write({ cluster: "api", proxy, receivedAt: now, points });
    // First sight of a series that started within the horizon counts its whole value.
    expect((await write([attempts("p1", t0, t0 + 1_000, 5)])).ok).toBe(true);
    await write([attempts("p1", t0, t0 + 2_000, 8)]); // +3
    await write([attempts("p1", t0, t0 + 2_000, 8)]); // duplicate: 0
    await write([attempts("p1", t0, t0 + 1_500, 6)]); // out of order: 0
    await write([attempts("p1", t0, t0 + 3_000, 2)]); // decrease, same start: a reset, +2
    await write([attempts("p1", t0 + 3_500, t0 + 4_000, 4)]); // restart (new start time): +4
    await write([attempts("p1", t0, t0 + 5_000, 100)]); // older start time: 0
    // A series that started before the horizon only sets a baseline.
    await write([attempts("p1", now - 3_600_000, t0 + 1_000, 1_000, "5xx")]);
    await write([attempts("p1", now - 3_600_000, t0 + 2_000, 1_007, "5xx")]); // +7

    const w = await readClusterWindows(redis, { cluster: "api", at: now, prefix });
    if (!w.ok) throw new Error(w.error);
    const long = w.value.views.long.find((e) => e.endpoint === EP)!;
    expect(long.attempts).toEqual({ "2xx": 5 + 3 + 2 + 4, "5xx": 7 });
    // Per-proxy evidence is in the short view only (contracts): a failure 2 s ago shows there.
    expect(long.failuresByProxy).toEqual({});
    await write([attempts("p1", now - 3_600_000, now - 2_000, 1_010, "5xx")]); // +3
    // Each delta landed in the bucket of its point's time.
    const rates = w.value.rates[EP]!;
    expect(rates).toHaveLength(60);
    expect(rates.reduce((a, b) => a + b, 0)).toBe(21);
    const sec = (ms: number) => Math.floor(ms / 1000) - (Math.floor(now / 1000) - 60);
    expect(rates[sec(t0 + 1_000)]).toBe(5);
    expect(rates[sec(t0 + 2_000)]).toBe(3 + 7);
    // Nothing of the earlier points is in the short view (the last 10 s).
    expect(w.value.views.short.find((e) => e.endpoint === EP)?.attempts ?? {}).toEqual({});
    expect(w.value.proxiesReporting).toBe(1);
    const again = await readClusterWindows(redis, { cluster: "api", at: now, prefix });
    if (!again.ok) throw new Error(again.error);
    const short = again.value.views.short.find((e) => e.endpoint === EP)!;
    expect(short.attempts).toEqual({ "5xx": 3 });
    expect(short.failuresByProxy).toEqual({ p1: 3 });
  });

  it("merges histograms bucket-wise, keeps each proxy's latest gauge, stores fast signals", async () => {
    const redis = await connect();
    const prefix = randomName("win");
    const store = createWindowStore(redis, { prefix });
    const now = Date.now();
    const t = now - 5_000;
    const gauge = (g: (typeof GAUGE)[keyof typeof GAUGE], timeMs: number, value: number): WindowPoint => ({
      type: "gauge",
      field: gaugeField(EP, g),
      timeMs,
      value,
    });
    await store.write({
      cluster: "api",
      proxy: "p1",
      receivedAt: now,
      points: [latency("p1", t - 1_000, t, [0, 2, 3], 0.01), gauge(GAUGE.inFlight, t, 4), gauge(GAUGE.lbScore, t, 1)],
    });
    await store.write({
      cluster: "api",
      proxy: "p1",
      receivedAt: now,
      points: [latency("p1", t - 1_000, t + 1_000, [1, 2, 5], 0.02), gauge(GAUGE.inFlight, t - 500, 99)],
    });
    await store.write({
      cluster: "api",
      proxy: "p2",
      receivedAt: now,
      points: [
        latency("p2", t - 1_000, t, [0, 0, 0, 1], 0.003),
        gauge(GAUGE.inFlight, t, 6),
        gauge(GAUGE.lbScore, t, 3),
      ],
    });
    // p3 last reported 30 s ago: its gauges count in the 60 s view, not in the 10 s view.
    await store.write({
      cluster: "api",
      proxy: "p3",
      receivedAt: now,
      points: [gauge(GAUGE.inFlight, now - 30_000, 100)],
    });
    const signal: FastSignal = {
      kind: "warmup_failure",
      cluster: "api",
      endpoint: EP2,
      proxy: "p2",
      at: t,
      receivedAt: now,
      attributes: { "meshtune.warmup.outcome": "connect_failed" },
    };
    expect((await appendSignals(redis, "api", [signal], { prefix })).ok).toBe(true);

    const w = await readClusterWindows(redis, { cluster: "api", at: now, prefix });
    if (!w.ok) throw new Error(w.error);
    const short = w.value.views.short.find((e) => e.endpoint === EP)!;
    expect(short.latency.counts.slice(0, 4)).toEqual([1, 2, 5, 1]);
    expect(short.latency.count).toBe(9);
    expect(short.latency.sum).toBeCloseTo(0.023, 9);
    expect(short.latency.bounds).toHaveLength(short.latency.counts.length - 1);
    // The older gauge point (t - 500) did not replace p1's newer value.
    expect(short.gauges.inFlight).toBe(4 + 6);
    expect(short.gauges.lbScore).toBe(2);
    expect(short.proxiesReporting).toBe(2);
    const long = w.value.views.long.find((e) => e.endpoint === EP)!;
    expect(long.gauges.inFlight).toBe(4 + 6 + 100);
    expect(long.proxiesReporting).toBe(3);
    expect(w.value.signals).toEqual([signal]);
  });

  it("two writers that received different proxies' data leave exactly the windows of one writer", async () => {
    const redis = await connect();
    const other = await connect();
    const now = Date.now();
    const base = now - 20_000;
    // Three proxies, each with several cumulative reports, a restart of p2 and a duplicate push.
    const reports: WindowBatch[] = [];
    for (const proxy of ["p1", "p2", "p3"]) {
      let start = base;
      let total = 0;
      for (let i = 1; i <= 6; i++) {
        if (proxy === "p2" && i === 4) {
          start = base + i * 2_000 - 500;
          total = 0;
        }
        total += i * 3;
        const time = base + i * 2_000;
        const points = [
          attempts(proxy, start, time, total),
          attempts(proxy, start, time, i, "5xx", EP2),
          latency(proxy, start, time, [i, total], total * 0.001),
        ];
        reports.push({ cluster: "api", proxy, receivedAt: now, points });
        if (i === 3) reports.push({ cluster: "api", proxy, receivedAt: now, points });
      }
    }
    const one = randomName("one");
    const two = randomName("two");
    const single = createWindowStore(redis, { prefix: one });
    for (const r of reports) await single.write(r);
    // Replica A gets p1 and every other push of p3, replica B the rest; proxies run concurrently,
    // each proxy's pushes in its own order (a proxy exports one interval after the other).
    const a = createWindowStore(redis, { prefix: two });
    const b = createWindowStore(other, { prefix: two });
    await Promise.all(
      ["p1", "p2", "p3"].map(async (proxy) => {
        let i = 0;
        for (const r of reports.filter((x) => x.proxy === proxy)) {
          await (proxy === "p1" || (proxy === "p3" && i++ % 2 === 0) ? a : b).write(r);
        }
      }),
    );

    const buckets = async (prefix: string) => {
      const out: Record<string, Record<string, string>> = {};
      for (let s = Math.floor(base / 1000); s <= Math.floor(now / 1000); s++) {
        const h = await redis.hgetall(redisKeys(prefix).windowBucket("api", s));
        if (Object.keys(h).length > 0) out[s] = h;
        // Per-proxy entries are JSON per proxy: compare them parsed (key order may differ).
        const p = await redis.hgetall(redisKeys(prefix).windowProxyBucket("api", s));
        for (const [proxy, json] of Object.entries(p)) out[`${s}|${proxy}`] = JSON.parse(json);
      }
      return out;
    };
    const x = await buckets(one);
    const y = await buckets(two);
    expect(Object.keys(x).length).toBeGreaterThan(3);
    // Counts are integers and equal exactly; latency sums are float additions in another order,
    // equal up to the last bits.
    const exact = (b: typeof x) =>
      Object.fromEntries(
        Object.entries(b).map(([s, h]) => [
          s,
          Object.fromEntries(Object.entries(h).filter(([f]) => !f.endsWith("|sum"))),
        ]),
      );
    expect(exact(y)).toEqual(exact(x));
    for (const [s, h] of Object.entries(x))
      for (const [f, v] of Object.entries(h))
        if (f.endsWith("|sum")) expect(Number(y[s]![f])).toBeCloseTo(Number(v), 12);
    const w = await readClusterWindows(redis, { cluster: "api", at: now, prefix: two });
    if (!w.ok) throw new Error(w.error);
    const ep = w.value.views.long.find((e) => e.endpoint === EP)!;
    // p1, p3: 3+6+...+18 = 63 each; p2: 3+6+9, then restarted at 12+15+18 = 63 too.
    expect(ep.attempts["2xx"]).toBe(3 * 63);
  });
});
