import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCerts } from "../src/certs.js";
import { runLoad } from "../src/loadgen/run-load.js";
import { type Simulator, startSimulator } from "../src/sim/simulator.js";
import { simConfig } from "./helpers.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator(
    simConfig([
      { name: "a", zone: "zone-a" },
      { name: "b", zone: "zone-b" },
      { name: "c", zone: "zone-b" },
      { name: "hole", faults: { blackHole: true } },
      { name: "gone", faults: { refuse: true } },
      { name: "tls", protocol: "https" },
      { name: "resets", bodyBytes: 2048, faults: { resetRate: 1 } },
    ]),
    { control: false },
  );
});
afterAll(async () => {
  await sim.close();
});

describe("runLoad", () => {
  it("200 rps for 1 s sends ~200 requests on schedule", async () => {
    const r = await runLoad({ url: `${sim.endpoint("a").url}/`, rps: 200, durationMs: 1000 });
    expect(r.sent).toBeGreaterThanOrEqual(195);
    expect(r.sent).toBeLessThanOrEqual(200);
    expect(r.completed).toBe(r.sent);
    expect(r.dropped).toBe(0);
    expect(r.errorCount).toBe(0);
    expect(r.statuses).toEqual({ "200": r.sent });
    expect(r.byEndpoint.a!.count).toBe(r.sent);
    expect(r.durationMs).toBeGreaterThanOrEqual(990);
    expect(r.achievedRps).toBeGreaterThan(100);
    expect(r.achievedRps).toBeLessThan(210);
    expect(r.latencyMs.p50).toBeLessThan(r.latencyMs.max + 1e-9);
  });

  it("round-robins over urls and reports per x-sim-endpoint", async () => {
    const urls = ["a", "b", "c"].map((n) => `${sim.endpoint(n).url}/`);
    const r = await runLoad({ urls, rps: 300, requests: 60 });
    expect(r.sent).toBe(60);
    expect(Object.keys(r.byEndpoint)).toEqual(["a", "b", "c"]);
    for (const e of Object.values(r.byEndpoint)) expect(e.count).toBe(20);
  });

  it("maxInFlight is a hard bound: over it requests are dropped, not queued", async () => {
    const r = await runLoad({
      url: `${sim.endpoint("hole").url}/`,
      rps: 100,
      durationMs: 200,
      maxInFlight: 5,
      timeoutMs: 250,
    });
    expect(r.sent).toBe(5);
    expect(r.dropped).toBe(15);
    expect(r.errors).toEqual({ timeout: 5 });
    expect(r.completed).toBe(0);
  });

  it("classifies refused connections and mid-body resets", async () => {
    const refused = await runLoad({ url: `${sim.endpoint("gone").url}/`, rps: 100, requests: 5 });
    expect(refused.errors).toEqual({ ECONNREFUSED: 5 });
    const reset = await runLoad({ url: `${sim.endpoint("resets").url}/`, rps: 100, requests: 5 });
    expect(reset.errorCount).toBe(5);
    expect(reset.completed).toBe(0);
    // undici reports the peer closing mid-body as a socket error.
    expect(Object.keys(reset.errors)).toEqual(["socket"]);
  });

  it("uses a given dispatcher (https with the test CA) and stops on abort", async () => {
    const dispatcher = new Agent({ connect: { ca: testCerts.caPem } });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const r = await runLoad({
        url: `${sim.endpoint("tls").url}/`,
        rps: 100,
        durationMs: 5000,
        dispatcher,
        signal: ac.signal,
      });
      expect(r.completed).toBeGreaterThan(5);
      expect(r.sent).toBeLessThan(40);
      expect(r.durationMs).toBeLessThan(2000);
    } finally {
      await dispatcher.close();
    }
  });

  it("rejects unbounded or target-less runs", async () => {
    await expect(runLoad({ rps: 1, durationMs: 1 })).rejects.toThrow(/url/);
    await expect(runLoad({ url: "http://127.0.0.1:1/", rps: () => 1 })).rejects.toThrow(/durationMs/);
    await expect(runLoad({ url: "http://127.0.0.1:1/", rps: 0, durationMs: 1 })).rejects.toThrow(/rps/);
  });
});
