/**
 * The four LB <-> pool coordinations (issue #5), end to end against real sockets from the
 * project's simulator, each also switched off to show the user-visible difference.
 */

import { runLoad, type Simulator, testCerts } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import type { ClusterEvent, EgressProxy, ForwardHooks } from "../src/index.js";
import { admin, autoCleanup, eventually, get, proxyConfig, sim, startProxy, staticEndpoints } from "./helpers.js";

const { track } = autoCleanup();
const noHc = { healthCheck: { intervalMs: 60_000, timeoutMs: 1000 } };
const five = (extra: Record<string, unknown> = {}) =>
  ["a", "b", "c", "d", "e"].map((name) => ({ name, ...((extra[name] as object) ?? {}) }));
const accepted = (s: Simulator) => Object.fromEntries(s.endpoints.map((e) => [e.name, e.stats().connectionsAccepted]));
const url = (p: EgressProxy) => `http://127.0.0.1:${p.listenerAddress!.port}/`;

describe("1. LB-directed warm-up", () => {
  it("least_request warms one connection per endpoint even with minWarm 0; switched off, pools stay cold", async () => {
    const s = track(await sim(five()));
    const cfg = (lbDirectedWarmup: boolean) =>
      proxyConfig({
        discovery: { type: "static", endpoints: staticEndpoints(s) },
        lb: { policy: "least_request" },
        pool: { minWarm: 0 },
        coordination: { lbDirectedWarmup, predictiveScaleUp: false },
        ...noHc,
      });
    const on = track(await startProxy(cfg(true)));
    expect(accepted(s)).toEqual({ a: 1, b: 1, c: 1, d: 1, e: 1 });
    const { json } = await admin(on, "/clusters");
    const eps = (json.clusters as { endpoints: { warmup: { why: string; target: number } }[] }[])[0]!.endpoints;
    expect(eps.every((e) => e.warmup.target === 1 && /least_request/.test(e.warmup.why))).toBe(true);
    await on.close();
    s.resetStats();
    track(await startProxy(cfg(false)));
    expect(accepted(s)).toEqual({ a: 0, b: 0, c: 0, d: 0, e: 0 });
  });

  it("weighted round robin warms in proportion to weight", async () => {
    const s = track(await sim([{ name: "heavy" }, { name: "light" }]));
    const [h, l] = staticEndpoints(s);
    track(
      await startProxy(
        proxyConfig({
          discovery: {
            type: "static",
            endpoints: [
              { ...h!, weight: 3 },
              { ...l!, weight: 1 },
            ],
          },
          lb: { policy: "weighted_round_robin" },
          pool: { minWarm: 2 },
          ...noHc,
        }),
      ),
    );
    expect(accepted(s)).toEqual({ heavy: 3, light: 1 });
  });

  it("zone-aware warms the local zone first", async () => {
    const s = track(await sim(five()));
    const zones = { a: "z1", b: "z1", c: "z2", d: "z2", e: "z2" };
    const order: string[] = [];
    const names = new Map(s.endpoints.map((e) => [e.port, e.name]));
    track(
      await startProxy(
        proxyConfig(
          {
            discovery: { type: "static", endpoints: staticEndpoints(s, zones) },
            lb: { policy: "round_robin", zoneAware: { enabled: true } },
            pool: { minWarm: 1 },
            ...noHc,
          },
          { proxy: { zone: "z1" } },
        ),
        {
          onClusterEvent: (ev: ClusterEvent) => {
            if (ev.type === "pool" && ev.event.type === "connect_ok") order.push(names.get(ev.host.port)!);
          },
        },
      ),
    );
    expect(order).toHaveLength(5);
    expect(order.slice(0, 2).sort()).toEqual(["a", "b"]);
  });
});

/** Counts the proxy's upstream attempts toward one endpoint port. */
function attemptsTo(port: number) {
  const a = { count: 0, failedConnects: 0, hooks: {} as ForwardHooks };
  a.hooks = {
    onAttempt: (info) => {
      if (info.host.port !== port) return;
      a.count++;
      if (info.error === "connect_failed" || info.error === "pending_timeout") a.failedConnects++;
    },
  };
  return a;
}

describe("2. warm-up failure is discovery", () => {
  // TLS endpoints: a black hole never completes the handshake, so only a connect timeout finds it.
  const tlsCluster = (s: Simulator, warmupFailureEjects: boolean) =>
    proxyConfig({
      discovery: { type: "static", endpoints: staticEndpoints(s).map((e) => ({ ...e, sni: "localhost" })) },
      tls: { enabled: true, caFile: testCerts.caFile },
      lb: { policy: "least_request" },
      pool: { minWarm: 1, connectTimeoutMs: 300 },
      warmup: { deadlineMs: 1000 },
      outlier: { consecutiveLocalOriginFailures: 0 },
      // Score without pool pressure, which would steer around the cold endpoint on its own.
      coordination: { warmupFailureEjects, poolAwareScore: warmupFailureEjects },
      ...noHc,
    });
  const load = (p: EgressProxy) =>
    runLoad({ url: url(p), rps: 200, requests: 200, headers: { host: "api.example.com" }, timeoutMs: 5000 });

  it("one of five black-holed at start: zero client errors, no request waits on its connect timeout", async () => {
    const s = track(
      await sim(five({ c: { faults: { blackHole: true } } }).map((e) => ({ ...e, protocol: "https" as const }))),
    );
    const attempts = attemptsTo(s.endpoint("c").port);
    const p = track(await startProxy(tlsCluster(s, true), { readCa: () => testCerts.caPem, hooks: attempts.hooks }));
    const dead = p.findHost("api", "127.0.0.1", s.endpoint("c").port)!;
    expect(dead.flagReason("failed_warmup")).toMatch(/connect timeout/);
    const r = await load(p);
    expect(r.errorCount).toBe(0);
    expect(r.statuses).toEqual({ 200: 200 });
    // No request was ever sent toward the black hole, so none could wait on its connect
    // timeout. (Asserted on behaviour, not on wall-clock latency: the machine may be busy.)
    expect(attempts.count).toBe(0);
  });

  it("switched off, requests pay the connect timeout of the black-holed endpoint", async () => {
    const s = track(
      await sim(five({ c: { faults: { blackHole: true } } }).map((e) => ({ ...e, protocol: "https" as const }))),
    );
    const attempts = attemptsTo(s.endpoint("c").port);
    const p = track(await startProxy(tlsCluster(s, false), { readCa: () => testCerts.caPem, hooks: attempts.hooks }));
    expect(p.findHost("api", "127.0.0.1", s.endpoint("c").port)!.available).toBe(true);
    await load(p);
    // Requests were sent toward it and failed on the connect (then retried elsewhere).
    expect(attempts.failedConnects).toBeGreaterThan(0);
  });
});

describe("3. pool pressure and latency in the score; predictive scale-up", () => {
  const slowFive = () => five({ e: { faults: { latency: { dist: "fixed", ms: 50 } } } });
  const run = async (poolAwareScore: boolean) => {
    const s = track(await sim(slowFive()));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "least_request" },
          pool: { minWarm: 2 },
          coordination: { poolAwareScore },
          ...noHc,
        }),
      ),
    );
    const r = await runLoad({
      url: url(p),
      rps: 300,
      requests: 600,
      headers: { host: "api.example.com" },
      timeoutMs: 5000,
    });
    expect(r.statuses).toEqual({ 200: 600 });
    return { share: (r.byEndpoint.e?.count ?? 0) / 600, p };
  };

  it("one slow endpoint (+50 ms) of five gets under 1% of requests; Envoy-style least request gives it more", async () => {
    const on = await run(true);
    const off = await run(false);
    // The < 1 % goal is measured by bench/ on a quiet machine; here, with other work sharing
    // the cores, assert the behaviour with margin: a small share, and less than without.
    expect(on.share).toBeLessThan(0.05);
    expect(off.share).toBeGreaterThan(on.share);
    // The score and its terms are exposed per endpoint.
    const { json } = await admin(on.p, "/clusters");
    const ep = (json.clusters as { endpoints: { score: { value: number; terms: Record<string, number> } }[] }[])[0]!
      .endpoints[4]!;
    expect(ep.score.terms.latencyMs).toBeGreaterThan(10);
    expect(Object.keys(ep.score.terms)).toEqual(
      expect.arrayContaining(["latencyMs", "inFlight", "idle", "connecting", "pending", "connectMs", "poolWaitTerm"]),
    );
  });

  it("a 10x traffic step raises the warm target ahead of the need, and it falls back to the floor", async () => {
    const s = track(await sim(five().map((e) => ({ ...e, faults: { latency: { dist: "fixed" as const, ms: 20 } } }))));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "least_request" },
          pool: { minWarm: 1, idleTimeoutMs: 60_000 },
          coordination: { scaleIntervalMs: 100 },
          ...noHc,
        }),
      ),
    );
    const rt = p.clusters.get("api")!;
    const host = rt.hosts.hosts[0]!;
    let peakTarget = 0;
    const r = await runLoad({
      url: url(p),
      stages: [
        { rps: 50, durationMs: 600 },
        { rps: 500, durationMs: 1200 },
      ],
      headers: { host: "api.example.com" },
      timeoutMs: 5000,
      onResult: () => {
        peakTarget = Math.max(peakTarget, rt.pool(host)!.warmTarget);
      },
    });
    expect(r.errorCount).toBe(0);
    // 100 rps per endpoint x 20 ms x 1.5 headroom = 3 connections at least.
    expect(peakTarget).toBeGreaterThanOrEqual(3);
    expect(rt.predicted(host)?.rate).toBeGreaterThan(0);
    await eventually(() => rt.pool(host)!.warmTarget === 1, 3000);
  });
});

describe("4. graceful drain", () => {
  it("an h2 endpoint marked draining finishes its in-flight streams, gets no new requests, then closes", async () => {
    const s = track(
      await sim([
        { name: "keep", protocol: "h2" },
        { name: "drain", protocol: "h2", faults: { latency: { dist: "fixed", ms: 300 } } },
      ]),
    );
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s).map((e) => ({ ...e, sni: "localhost" })) },
          tls: { enabled: true, caFile: testCerts.caFile, alpn: ["h2", "http/1.1"] },
          lb: { policy: "round_robin" },
          ...noHc,
        }),
        { readCa: () => testCerts.caPem },
      ),
    );
    const rt = p.clusters.get("api")!;
    const host = p.findHost("api", "127.0.0.1", s.endpoint("drain").port)!;
    const inflight = Promise.all([get(p), get(p), get(p), get(p)]);
    await eventually(() => host.inFlight >= 2);
    const drained = rt.drainHost(host, "operator");
    expect(host.available).toBe(false);
    const after = await Promise.all([get(p), get(p)]);
    expect(after.map((r) => r.headers["x-sim-endpoint"])).toEqual(["keep", "keep"]);
    const done = await inflight;
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await drained).forced).toBe(0);
    await eventually(() => s.endpoint("drain").stats().connectionsOpen === 0);
  });
});
