import { describe, expect, test } from "vitest";
import { holtForecast, holtObserve } from "../src/index.js";
import { endpointName } from "../src/sim/index.js";
import { applied, at, runLoop } from "./helpers.js";

describe("Holt forecast", () => {
  test("follows a linear ramp and forecasts it ahead", () => {
    let s = { trend: 0 } as ReturnType<typeof holtObserve>;
    for (let t = 0; t < 100; t++) s = holtObserve(s, 10 + 2 * t, 0.5, 0.3);
    expect(holtForecast(s, 0)).toBeCloseTo(208, 0);
    expect(holtForecast(s, 10)).toBeCloseTo(228, 0);
  });
});

describe("predictive scale-up", () => {
  test("a 10x traffic step raises pool targets at once and lowers them only after the 300 s stabilisation window", () => {
    const r = runLoop({
      endpoints: 4,
      proxies: 10,
      ratePerEndpoint: 200,
      baseLatencyMs: 50,
      seconds: 800,
      faults: [{ endpoint: 0, kind: "surge", factor: 10, from: 100_000, to: 200_000 }],
    });
    const ds = applied(r.decisions).filter(
      (d) => d.endpoint === endpointName(0) && (d.kind === "set_pool_min" || d.kind === "set_preconnect"),
    );
    const ups = ds.filter((d) => Number(Object.values(d.after)[0]) > Number(Object.values(d.before)[0]));
    const downs = ds.filter((d) => Number(Object.values(d.after)[0]) < Number(Object.values(d.before)[0]));
    expect(ups.length).toBeGreaterThan(0);
    const firstUp = ups[0]!;
    expect(at(firstUp) - (r.start + 100_000)).toBeLessThanOrEqual(4_000);
    expect(firstUp.inputs).toMatchObject({ proxies: 10 });
    // The surge ends at 200 s; until 200 + 300 s the targets stay at surge level (HPA-style
    // stabilisation: down only to the highest recommendation of the window), then come back.
    expect(downs.length).toBeGreaterThan(0);
    for (const d of downs.filter((x) => at(x) < r.start + 500_000))
      expect(Number(Object.values(d.after)[0])).toBeGreaterThanOrEqual(5);
    const st = r.state.endpoints[endpointName(0)];
    expect(st?.minWarm.value).toBeLessThanOrEqual(3);
    expect(st?.minWarm.recs.length).toBeLessThan(20);
  });
});
