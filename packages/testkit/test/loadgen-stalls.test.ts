import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadSample, runLoad } from "../src/loadgen/run-load.js";
import { type Simulator, startSimulator } from "../src/sim/simulator.js";
import { simConfig } from "./helpers.js";

// Separate file from loadgen.test.ts so the slow, timing-based runs proceed in parallel.
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator(simConfig([{ name: "a" }, { name: "b" }, { name: "c" }]), { control: false });
});
afterAll(async () => {
  await sim.close();
});

describe("runLoad under stalls and steps", () => {
  it("injected 300 ms responses on some requests show up in p99", async () => {
    const r = await runLoad({
      url: `${sim.endpoint("a").url}/`,
      rps: 200,
      durationMs: 600,
      // Every 25th request (4%) is slow.
      headers: (i): Record<string, string> => (i % 25 === 0 ? { "x-sim-latency-ms": "300" } : {}),
    });
    expect(r.completed).toBe(r.sent);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(300);
    expect(r.latencyMs.max).toBeGreaterThanOrEqual(300);
    expect(r.latencyMs.p50).toBeLessThan(100);
  });

  it("measures from the scheduled time: a client-side stall is not omitted (coordinated omission)", async () => {
    // Block the event loop for 300 ms a quarter of the way in, as a GC pause would. A closed-loop
    // or send-time measurement would see only fast responses; open loop catches up on the
    // overdue requests and charges them the time they were overdue.
    const stall = setTimeout(() => {
      const until = performance.now() + 300;
      while (performance.now() < until) {
        /* busy */
      }
    }, 150);
    let overdue = 0;
    const r = await runLoad({
      url: `${sim.endpoint("b").url}/`,
      rps: 200,
      durationMs: 600,
      onResult: (s: LoadSample) => {
        if (s.latencyMs >= 100) overdue++;
      },
    });
    clearTimeout(stall);
    expect(r.sent).toBeGreaterThanOrEqual(115);
    // ~60 requests were due during the stall, ~40 of them 100+ ms before they could leave.
    expect(overdue).toBeGreaterThanOrEqual(30);
    expect(r.latencyMs.p90).toBeGreaterThanOrEqual(100);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(250);
  });

  it("a step in rps (stages and function forms)", async () => {
    const url = `${sim.endpoint("c").url}/`;
    const staged = await runLoad({
      url,
      stages: [
        { durationMs: 160, rps: 50 },
        { durationMs: 160, rps: 500 },
      ],
    });
    // 8 at 50 rps, then 80 at 500 rps.
    expect(staged.sent).toBe(88);
    const fn = await runLoad({ url, rps: (t) => (t < 160 ? 50 : 500), durationMs: 320 });
    expect(fn.sent).toBe(staged.sent);
  });
});
