/**
 * Admission control (issue #15): a saturated proxy answers a fast 503 `overloaded` instead of
 * queueing every request into a timeout, and admits again as soon as the lag falls.
 * Event-loop lag on paused time; the in-flight bound and the no-retry-when-overloaded rule
 * over real sockets.
 */
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { AdmissionControl, PROBE_MS } from "../src/proxy/admission.js";
import { autoCleanup, get, header, proxyConfig, sim, startProxy, staticEndpoints } from "./helpers.js";

const { track } = autoCleanup();

/** A clock whose one pending timer fires when the test says, as late as the test says. */
function lateClock() {
  let now = 0;
  let due: { fn: () => void; at: number } | undefined;
  return {
    clock: {
      now: () => now,
      setTimeout(fn: () => void, ms: number) {
        const t = { fn, at: now + ms };
        due = t;
        return {
          cancel: () => {
            if (due === t) due = undefined;
          },
        };
      },
    },
    /** Fire the pending timer `lateMs` after it was due. */
    fire(lateMs: number) {
      const t = due;
      if (!t) return;
      due = undefined;
      now = t.at + lateMs;
      t.fn();
    },
  };
}

describe("AdmissionControl", () => {
  const settings = { enabled: true, maxInFlight: 10, maxEventLoopLagMs: 100 };

  it("admits while the loop is on time and below the in-flight bound", () => {
    const clock = new FakeClock();
    const a = new AdmissionControl(
      settings,
      clock,
      () => 0,
      () => 3,
    );
    a.start();
    clock.advance(PROBE_MS * 20);
    expect(a.lagMs).toBe(0);
    expect(a.admit()).toEqual({ ok: true });
    expect(a.overloaded).toBe(false);
    a.close();
  });

  it("refuses at the in-flight bound", () => {
    const clock = new FakeClock();
    let inFlight = 10;
    const a = new AdmissionControl(
      settings,
      clock,
      () => 0.5,
      () => inFlight,
    );
    expect(a.admit()).toMatchObject({ ok: false, reason: "in_flight" });
    inFlight = 9;
    expect(a.admit()).toEqual({ ok: true });
    expect(a.shedInFlight).toBe(1);
  });

  it("sheds in proportion to the lag above the bound, and recovers when the lag falls", () => {
    const { clock, fire } = lateClock();
    let r = 0.5;
    const a = new AdmissionControl(
      settings,
      clock,
      () => r,
      () => 0,
    );
    a.start();
    // A stalled loop: each probe fires 400 ms late.
    for (let i = 0; i < 10; i++) fire(400);
    expect(a.lagMs).toBeGreaterThan(300);
    expect(a.overloaded).toBe(true);
    r = 0.9; // below MAX_SHED: refused
    expect(a.admit()).toMatchObject({ ok: false, reason: "event_loop_lag" });
    r = 0.97; // above MAX_SHED: some traffic always flows
    expect(a.admit()).toEqual({ ok: true });
    // The loop is on time again: the EWMA falls below the bound within a few probes.
    let probes = 0;
    while (a.overloaded && probes < 100) {
      fire(0);
      probes++;
    }
    expect(probes).toBeLessThan(15);
    r = 0;
    expect(a.admit()).toEqual({ ok: true });
    a.close();
  });

  it("rests the lag probe while the proxy is idle and restarts it with the next request", () => {
    const clock = new FakeClock();
    let inFlight = 2;
    const a = new AdmissionControl(
      settings,
      clock,
      () => 0,
      () => inFlight,
    );
    a.start();
    clock.advance(PROBE_MS * 5);
    expect(a.probing).toBe(true);
    inFlight = 0;
    clock.advance(PROBE_MS * 2);
    // Idle: no timer left to wake the process.
    expect(a.probing).toBe(false);
    expect(clock.pending).toBe(0);
    expect(a.admit()).toEqual({ ok: true });
    expect(a.probing).toBe(true);
    // A request since the last probe keeps it running for one more probe even with nothing in flight.
    clock.advance(PROBE_MS);
    expect(a.probing).toBe(true);
    a.close();
    expect(a.admit()).toEqual({ ok: true });
    expect(a.probing).toBe(false);
  });

  it("does nothing when disabled", () => {
    const clock = new FakeClock();
    const a = new AdmissionControl(
      { ...settings, enabled: false },
      clock,
      () => 0,
      () => 1_000,
    );
    expect(a.admit()).toEqual({ ok: true });
  });
});

describe("admission control in the proxy", () => {
  it("answers 503 overloaded past proxy.admission.maxInFlight, fast, and admits again after", async () => {
    const s = track(await sim([{ name: "a", faults: { latency: { dist: "fixed", ms: 300 } } }]));
    const seen: string[] = [];
    const p = track(
      await startProxy(
        proxyConfig(
          { discovery: { type: "static", endpoints: staticEndpoints(s) }, healthCheck: { enabled: false } },
          { proxy: { admission: { maxInFlight: 2 } } },
        ),
        { hooks: { onRequest: (r) => seen.push(`${r.status} ${r.error ?? ""}`) } },
      ),
    );
    const slow = [get(p, "/1"), get(p, "/2")];
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    const refused = await get(p, "/3");
    const refusedMs = performance.now() - t0;
    expect(refused.status).toBe(503);
    expect(header(refused.headers, "x-meshtune-error")).toBe("overloaded");
    // Refused without waiting for the slow upstream (300 ms).
    expect(refusedMs).toBeLessThan(250);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    expect((await get(p, "/4")).status).toBe(200);
    expect(p.admission?.shedInFlight).toBe(1);
    // Reported like any request (telemetry counts the 503s).
    expect(seen).toContain("503 overloaded");
  });
});
