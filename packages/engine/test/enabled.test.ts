import { describe, expect, test } from "vitest";
import { type EngineState, evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } from "../src/index.js";
import { applied, runLoop } from "./helpers.js";
import { clusterWindows, type EndpointFigures, EP, signal, T0 } from "./windows.js";

const healthy = (i: number): EndpointFigures => ({ endpoint: EP(i), ok: 500, meanLatencyMs: 20 });

describe("a rule switched off (config.<rule>.enabled = false)", () => {
  test("eject off: a hard warm-up failure ejects nothing", () => {
    const config = resolveEngineConfig({ eject: { enabled: false } });
    const step = (state: EngineState, now: number, signals = [] as ReturnType<typeof signal>[]) =>
      evaluate({
        config,
        windows: clusterWindows(now, [0, 1, 2, 3].map(healthy), signals),
        state,
        now,
        operator: NO_OPERATOR_SETTINGS,
      });
    const s = step(initialState(), T0).state;
    const r = step(s, T0 + 1000, [signal(EP(2), "proxy-7", T0 + 400)]);
    expect(r.decisions.filter((d) => d.kind === "eject")).toEqual([]);
  });

  test("every rule off: a simulated fleet with a dead endpoint and a surge gets no decision", () => {
    const off = { enabled: false };
    const r = runLoop({
      endpoints: 5,
      proxies: 20,
      ratePerEndpoint: 50,
      seconds: 60,
      faults: [{ endpoint: 1, kind: "refuse", from: 20_000, to: 40_000 }],
      config: { eject: off, weights: off, forecast: off, pool: off },
    });
    expect(applied(r.decisions)).toEqual([]);
  });
});
