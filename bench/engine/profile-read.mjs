#!/usr/bin/env node
/**
 * Where readClusterWindows spends its time at 200 proxies × 50 endpoints: fills 70 s of the
 * fleet through the collector's writer (fleet-writer.mjs), then times N reads whole and the
 * Redis calls alone (the buckets pipeline, the gauges MGET), so the rest is the reader's JS.
 * Run under `node --cpu-prof` for a profile. Usage: node bench/engine/profile-read.mjs [N]
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { createFleetWriter } from "./fleet-writer.mjs";
import { adapters, contracts, pct, r2, sim } from "./lib.mjs";

const { createRedis, readClusterWindows, parseField, BUCKET_KIND } = adapters;
const dist = (f) => import(new URL(`../../packages/adapters/dist/windows/${f}`, import.meta.url).href);
const { addBucketField } = await dist("fold.js");
const { emptyEndpoint } = await dist("endpoint.js");
const { redisKeys, WINDOW_VIEWS } = contracts;
const N = Math.min(500, Number(process.argv[2] ?? 30) || 30);
const cluster = "bench.example.com";
const prefix = `mt-bench-read-${randomUUID().slice(0, 8)}`;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const keys = redisKeys(prefix);
const fleet = new sim.FleetSim({
  cluster,
  endpoints: 50,
  proxies: 200,
  ratePerEndpoint: 100,
  start: Math.floor(Date.now() / 1000) * 1000 - 70_000,
  faults: [{ endpoint: 7, kind: "refuse", from: 0, to: 200_000 }],
});
const writer = createFleetWriter(redis, { prefix, cluster, proxies: 200 });
for (let t = 0; t < 70; t++) {
  fleet.step();
  await writer.writeSecond(Math.floor(fleet.now / 1000) - 1, fleet.lastSecond(), fleet.lastSignals());
}
const at = fleet.now;
const endSec = Math.floor(at / 1000);
const whole = [];
const buckets = [];
const gauges = [];

let bytes = 0;
let cached;
let fresh;
for (let i = 0; i < N; i++) {
  let t0 = performance.now();
  const r = await readClusterWindows(redis, { cluster, at, prefix });
  whole.push(performance.now() - t0);
  if (!r.ok) throw new Error(r.error);
  if (i === 0) bytes = JSON.stringify(r.value).length;
  t0 = performance.now();
  const p = redis.pipeline();
  for (let s = endSec - WINDOW_VIEWS.long; s < endSec; s++) p.hgetall(keys.windowBucket(cluster, s));
  for (let s = endSec - WINDOW_VIEWS.short; s < endSec; s++) p.hgetall(keys.windowProxyBucket(cluster, s));
  const replies = await p.exec();
  buckets.push(performance.now() - t0);
  if (i === 0) {
    cached = replies.slice(0, 60).map(([, v]) => v);
    // Read right after the fetch: the oldest buckets expire while a long run goes on.
    fresh = await readClusterWindows(redis, { cluster, at, prefix });
    const fields = replies.slice(0, 60).reduce((n, [, v]) => n + Object.keys(v).length, 0);
    console.error(`fields in 60 buckets: ${fields}`);
  }
  t0 = performance.now();
  await redis.mget(...Array.from({ length: 200 }, (_, k) => keys.gauges(cluster, `proxy-${k}`)));
  gauges.push(performance.now() - t0);
}
/** The reader's bucket part before fold.ts (commit 6a284fe): each view parses its buckets, the rates parse them again. */
function bucketsBefore(buckets) {
  const views = [60, 10].map((n) => {
    const eps = new Map();
    for (const bucket of buckets.slice(60 - n)) {
      for (const field in bucket) {
        const f = parseField(field);
        if (!f) continue;
        const x = Number(bucket[field]);
        if (!Number.isFinite(x)) continue;
        if (!eps.has(f.endpoint)) eps.set(f.endpoint, emptyEndpoint(f.endpoint));
        const w = eps.get(f.endpoint);
        addBucketField(w, f.kind, f.rest, x);
      }
    }
    return eps;
  });
  const rates = {};
  buckets.forEach((bucket, i) => {
    for (const field in bucket) {
      const f = parseField(field);
      if (!f || f.kind !== BUCKET_KIND.attempts) continue;
      if (!rates[f.endpoint]) rates[f.endpoint] = new Array(buckets.length).fill(0);
      rates[f.endpoint][i] += Number(bucket[field]);
    }
  });
  return { views, rates };
}
// The reader's JS alone: a fake client answering the replies of a real read at once.
const rp = redis.pipeline();
for (let x = endSec - WINDOW_VIEWS.long; x < endSec; x++) rp.hgetall(keys.windowBucket(cluster, x));
for (let x = endSec - WINDOW_VIEWS.short; x < endSec; x++) rp.hgetall(keys.windowProxyBucket(cluster, x));
rp.zrangebyscore(keys.proxies(cluster), at - 60_000, at);
rp.xrange(keys.signals(cluster), String(at - 120_000), "+", "COUNT", 10_000);
const canned = await rp.exec();
const cannedGauges = await redis.mget(...canned.at(-2)[1].map((x) => keys.gauges(cluster, x)));
const fake = {
  pipeline() {
    const q = { exec: async () => canned };
    for (const m of ["hgetall", "zrangebyscore", "xrange"]) q[m] = () => q;
    return q;
  },
  mget: async () => cannedGauges,
};
const jsOnly = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const r = await readClusterWindows(fake, { cluster, at, prefix });
  jsOnly.push(performance.now() - t0);
  if (!r.ok) throw new Error(r.error);
}
const signalsInStream = canned.at(-1)[1].length;
const canon = (x) =>
  Array.isArray(x) || typeof x !== "object" || x === null
    ? JSON.stringify(x)
    : `{${Object.keys(x)
        .sort()
        .map((k) => `${k}:${canon(x[k])}`)
        .join(",")}}`;
const before = [];
let same = true;
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const old = bucketsBefore(cached);
  before.push(performance.now() - t0);
  if (i > 0) continue;
  // The one-pass fold must give the per-view sums of the reader before it, field for field.
  for (const [view, eps] of [
    ["long", old.views[0]],
    ["short", old.views[1]],
  ]) {
    for (const w of fresh.value.views[view]) {
      const o = eps.get(w.endpoint);
      const pick = (x) =>
        [x.attempts, x.latency, x.connectLatency, x.health, x.connectFailures, x.picks].map(canon).join();
      if (!o || pick(o) !== pick(w)) {
        if (same) console.error(view, w.endpoint, o && pick(o), pick(w));
        same = false;
      }
    }
  }
  if (canon(old.rates) !== canon(fresh.value.rates)) {
    console.error("rates differ");
    same = false;
  }
}
const s = (xs) => ({ p50: r2(pct(xs, 0.5)), p99: r2(pct(xs, 0.99)) });
console.log(
  JSON.stringify({
    reads: N,
    load: loadavg().map(r2),
    readMs: s(whole),
    fetchAllBucketsMs: s(buckets),
    gaugesMgetMs: s(gauges),
    readJsOnlyMs: s(jsOnly),
    signalsInStream,
    clientSideBucketSumMs: s(before),
    foldEqualsPerViewSums: same,
    windowsJsonKiB: r2(bytes / 1024),
  }),
);
await adapters.deleteMatching(redis, `${prefix}:*`);
await redis.quit();
