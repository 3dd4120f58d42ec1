import { describe, expect, test } from "vitest";
import { type EngineState, evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } from "../src/index.js";
import { endpointName } from "../src/sim/index.js";
import { applied, at, runLoop } from "./helpers.js";
import { clusterWindows, type EndpointFigures, EP, T0 } from "./windows.js";

const config = resolveEngineConfig();
const run = (state: EngineState, now: number, eps: EndpointFigures[]) =>
  evaluate({ config, windows: clusterWindows(now, eps), state, now, operator: NO_OPERATOR_SETTINGS });
const ep = (i: number, meanLatencyMs = 20, ok = 500): EndpointFigures => ({ endpoint: EP(i), ok, meanLatencyMs });

describe("pressure-weighted weights", () => {
  test("a latency degradation (+50 ms on 20 ms) lowers the endpoint's weight within 5 s", () => {
    const r = runLoop({
      endpoints: 5,
      proxies: 20,
      ratePerEndpoint: 50,
      seconds: 90,
      faults: [{ endpoint: 2, kind: "latency", factor: 3.5, from: 40_000, to: 90_000 }],
    });
    const first = applied(r.decisions).find((d) => d.endpoint === endpointName(2) && d.kind === "set_weight");
    expect(first).toBeDefined();
    expect(Number(first?.after.weight)).toBeLessThan(100);
    expect(at(first!) - (r.start + 40_000)).toBeLessThanOrEqual(5_000);
    expect(r.state.endpoints[endpointName(2)]?.weight.value).toBeLessThan(40);
  });

  test("every evaluation reports each endpoint's pressure cost, also when no weight changes (the score gauge)", () => {
    const r = run(initialState(), T0, [ep(0), ep(1), ep(2, 60)]);
    expect(Object.keys(r.costs).sort()).toEqual([EP(0), EP(1), EP(2)].sort());
    expect(r.costs[EP(2)]).toBeGreaterThan(r.costs[EP(0)]!);
    expect(r.decisions.filter((d) => d.kind === "set_weight")).toEqual([]); // blackout: no change yet
  });

  test("new endpoints keep the default weight during the blackout period", () => {
    let s = initialState();
    for (let t = 0; t < 10; t++) {
      const r = run(s, T0 + t * 1000, [ep(0), ep(1), ep(2, 60)]);
      expect(r.decisions.filter((d) => d.kind === "set_weight")).toEqual([]);
      s = r.state;
    }
    const after = run(s, T0 + 10_000, [ep(0), ep(1), ep(2, 60)]);
    expect(after.decisions.find((d) => d.kind === "set_weight")).toMatchObject({
      endpoint: EP(2),
      before: { weight: 100 },
      after: { weight: 50 },
    });
    expect(after.decisions.find((d) => d.kind === "set_weight")?.guardrails?.[0]).toMatchObject({
      name: "max-step",
      action: "trimmed",
      wanted: { weight: 33 },
    });
  });

  test("weights stay within floor..max and go back to the default when attempts stop", () => {
    // Latency-outlier ejection off: this test is about the weight alone.
    const noEject = resolveEngineConfig({ eject: { latencyOutlierFactor: 1e9 } });
    let s = initialState();
    for (let t = 0; t <= 60; t++) {
      const now = T0 + t * 1000;
      s = evaluate({
        config: noEject,
        windows: clusterWindows(now, [ep(0), ep(1), ep(2, 5_000)]),
        state: s,
        now,
        operator: NO_OPERATOR_SETTINGS,
      }).state;
    }
    expect(s.endpoints[EP(2)]?.weight.value).toBe(config.weights.floorWeight);
    let expiry: ReturnType<typeof run>["decisions"] = [];
    for (let t = 61; t <= 61 + 200; t++) {
      // Proxies still report EP(2) (gauges, probes) but send it no requests: its figures are stale.
      const r = run(s, T0 + t * 1000, [ep(0), ep(1), { endpoint: EP(2), ok: 0, healthyByProxy: { "proxy-1": 1 } }]);
      s = r.state;
      expiry = expiry.concat(r.decisions.filter((d) => d.rule === "weight-expiry"));
    }
    expect(expiry).toHaveLength(1);
    expect(expiry[0]).toMatchObject({ endpoint: EP(2), after: { weight: 100 } });
    expect(at(expiry[0]!) - (T0 + 60_000)).toBe(config.weights.expirationMs);
  });

  test("small differences stay inside the hysteresis band", () => {
    let s = initialState();
    const decisions = [];
    for (let t = 0; t < 120; t++) {
      const r = run(s, T0 + t * 1000, [ep(0, 20), ep(1, 22), ep(2, 19)]);
      s = r.state;
      decisions.push(...r.decisions.filter((d) => d.kind === "set_weight"));
    }
    expect(decisions).toEqual([]);
  });
});
