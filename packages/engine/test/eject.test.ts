import { ATTR } from "@meshtune/contracts";
import { describe, expect, test } from "vitest";
import { type EngineState, evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } from "../src/index.js";
import { endpointName } from "../src/sim/index.js";
import { applied, at, runLoop } from "./helpers.js";
import { clusterWindows, type EndpointFigures, EP, signal, T0 } from "./windows.js";

const config = resolveEngineConfig();
const healthy = (i: number): EndpointFigures => ({ endpoint: EP(i), ok: 500, meanLatencyMs: 20 });

function step(state: EngineState, now: number, eps: EndpointFigures[], signals = [] as ReturnType<typeof signal>[]) {
  return evaluate({ config, windows: clusterWindows(now, eps, signals), state, now, operator: NO_OPERATOR_SETTINGS });
}

describe("fleet-wide ejection", () => {
  test("one warm-up failure from one proxy ejects the endpoint for every proxy at the next evaluation", () => {
    let s = step(initialState(), T0, [0, 1, 2, 3].map(healthy)).state;
    const r = step(s, T0 + 1000, [0, 1, 2, 3].map(healthy), [signal(EP(2), "proxy-7", T0 + 400)]);
    const ej = r.decisions.filter((d) => d.kind === "eject");
    expect(ej).toHaveLength(1);
    expect(ej[0]).toMatchObject({
      endpoint: EP(2),
      rule: "fleet-eject",
      after: { ejected: true, ejectReason: "fleet:warmup_failure" },
    });
    expect(ej[0]?.inputs).toMatchObject({ evidence: "hard", reporters: ["proxy-7"] });
    expect(Date.parse(ej[0]?.expiresAt ?? "")).toBe(T0 + 1000 + 30_000 + 30_000);
    s = r.state;
    expect(s.endpoints[EP(2)]?.ejection.status).toBe("ejected");
  });

  test("one proxy's health-check timeouts are set aside while the rest of the fleet sees the endpoint healthy", () => {
    // A CPU-starved proxy misses every deadline (seen in the demo at load 10+ on 2 cores).
    const healthyElsewhere = { ...healthy(2), healthyByProxy: { b: 3, c: 3, d: 3 } };
    const s = step(initialState(), T0, [0, 1, 2, 3].map(healthy)).state;
    const timeout = {
      ...signal(EP(2), "a", T0 + 400, "health_check_failure"),
      attributes: { [ATTR.healthResult]: "timeout", [ATTR.detail]: "timeout after 500 ms" },
    };
    const set = [healthy(0), healthy(1), healthyElsewhere, healthy(3)];
    expect(step(s, T0 + 1000, set, [timeout]).decisions.filter((d) => d.kind === "eject")).toEqual([]);
    // The same timeouts with nobody contradicting them (a black hole): ejected at once.
    expect(step(s, T0 + 1000, [0, 1, 2, 3].map(healthy), [timeout]).decisions.map((d) => d.kind)).toContain("eject");
    // A refused connect is the endpoint's own failure, whatever the others saw.
    const refused = { ...healthyElsewhere, connectRefused: 1, failuresByProxy: { a: 1 } };
    const r = step(s, T0 + 1000, [healthy(0), healthy(1), refused, healthy(3)]);
    expect(r.decisions.find((d) => d.kind === "eject")).toMatchObject({
      endpoint: EP(2),
      inputs: { evidence: "hard" },
    });
  });

  test("soft evidence (5xx) needs k = 3 proxies", () => {
    const s = step(initialState(), T0, [0, 1, 2, 3].map(healthy)).state;
    const twoProxies = { endpoint: EP(1), ok: 10, errors5xx: 90, failuresByProxy: { a: 45, b: 45 } };
    expect(
      step(s, T0 + 1000, [healthy(0), twoProxies, healthy(2), healthy(3)]).decisions.filter((d) => d.kind === "eject"),
    ).toEqual([]);
    const threeProxies = { ...twoProxies, failuresByProxy: { a: 30, b: 30, c: 30 } };
    const r = step(s, T0 + 1000, [healthy(0), threeProxies, healthy(2), healthy(3)]);
    expect(r.decisions.find((d) => d.kind === "eject")).toMatchObject({
      endpoint: EP(1),
      inputs: { evidence: "soft" },
    });
  });

  test("a hard failure in the simulated fleet is decided within 1 s of its first signal, and un-ejected once probes pass", () => {
    const r = runLoop({
      endpoints: 5,
      proxies: 20,
      ratePerEndpoint: 50,
      seconds: 120,
      faults: [{ endpoint: 1, kind: "refuse", from: 30_000, to: 50_000 }],
    });
    const ep = endpointName(1);
    const ds = applied(r.decisions).filter((d) => d.endpoint === ep && (d.kind === "eject" || d.kind === "uneject"));
    expect(ds[0]?.kind).toBe("eject");
    expect(at(ds[0]!) - (r.start + 30_000)).toBeLessThanOrEqual(1000);
    const un = ds.find((d) => d.kind === "uneject");
    expect(un).toBeDefined();
    // Probes pass from 50 s; the short view is clean 10 s later; never before the fault ended.
    expect(at(un!)).toBeGreaterThanOrEqual(r.start + 60_000);
    expect(at(un!)).toBeLessThanOrEqual(r.start + 62_000);
  });

  test("the ejection time grows with repeated ejections (base × count)", () => {
    const r = runLoop({
      endpoints: 5,
      proxies: 20,
      ratePerEndpoint: 50,
      seconds: 200,
      faults: [
        { endpoint: 3, kind: "refuse", from: 20_000, to: 25_000 },
        { endpoint: 3, kind: "refuse", from: 100_000, to: 105_000 },
      ],
    });
    const ej = applied(r.decisions).filter((d) => d.endpoint === endpointName(3) && d.kind === "eject");
    expect(ej.length).toBeGreaterThanOrEqual(2);
    const durations = ej.map((d) => Date.parse(String(d.after.until)) - at(d));
    expect(durations[0]).toBe(30_000);
    expect(durations[1]).toBe(60_000);
  });

  test("max-ejection-percent and the panic threshold hold back the third of four ejections", () => {
    let s = step(initialState(), T0, [0, 1, 2, 3].map(healthy)).state;
    const sigs = [0, 1, 2].map((i) => signal(EP(i), `proxy-${i}`, T0 + 500));
    const r = step(s, T0 + 1000, [0, 1, 2, 3].map(healthy), sigs);
    s = r.state;
    const ej = r.decisions.filter((d) => d.kind === "eject");
    expect(ej.filter((d) => !d.guardrails)).toHaveLength(2);
    const blocked = ej.find((d) => d.guardrails);
    expect(blocked?.guardrails?.[0]).toMatchObject({ name: "max-ejection-percent", action: "blocked" });
    expect(Object.values(s.endpoints).filter((e) => e.ejection.status === "ejected")).toHaveLength(2);
    // The standing block is recorded once, not at every evaluation.
    const again = step(s, T0 + 2000, [0, 1, 2, 3].map(healthy), sigs);
    expect(again.decisions.filter((d) => d.kind === "eject")).toEqual([]);
  });
});
