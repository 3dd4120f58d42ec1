import { describe, expect, test } from "vitest";
import {
  type EngineState,
  evaluate,
  initialState,
  NO_OPERATOR_SETTINGS,
  type OperatorSettings,
  resolveEngineConfig,
} from "../src/index.js";
import { clusterWindows, type EndpointFigures, EP, signal, T0 } from "./windows.js";

const config = resolveEngineConfig();
const healthy = (i: number, meanLatencyMs = 20): EndpointFigures => ({ endpoint: EP(i), ok: 500, meanLatencyMs });
const eps = [0, 1, 2, 3].map((i) => healthy(i));
const op = (o: Partial<OperatorSettings>): OperatorSettings => ({ ...NO_OPERATOR_SETTINGS, ...o });
const warm = () =>
  evaluate({ config, windows: clusterWindows(T0, eps), state: initialState(), now: T0, operator: NO_OPERATOR_SETTINGS })
    .state;
const failing = (now: number) => clusterWindows(now, eps, [signal(EP(1), "proxy-3", now - 500)]);

function run(state: EngineState, now: number, operator: OperatorSettings, windows = failing(now)) {
  return evaluate({ config, windows, state, now, operator });
}

describe("guardrails", () => {
  test("dry-run: decisions are made and published with dryRun true; the real baseline returns when it ends", () => {
    const dry = op({ dryRun: { cluster: true, global: false } });
    const r = run(warm(), T0 + 1000, dry);
    const ej = r.decisions.find((d) => d.kind === "eject");
    expect(ej?.dryRun).toBe(true);
    expect(ej?.guardrails?.map((g) => g.name)).toEqual(["dry-run"]);
    // Dry-run off: the ejection was never applied, so the engine decides it again, for real.
    const live = run(r.state, T0 + 2000, NO_OPERATOR_SETTINGS);
    const again = live.decisions.find((d) => d.kind === "eject");
    expect(again).toMatchObject({ dryRun: false, endpoint: EP(1) });
    expect(again?.guardrails).toBeUndefined();
  });

  test("kill switch: the engine's rules are blocked, recorded once, and nothing changes in the state", () => {
    const kill = op({ killSwitch: { cluster: false, global: true } });
    const r = run(warm(), T0 + 1000, kill);
    const ej = r.decisions.find((d) => d.kind === "eject");
    expect(ej?.guardrails?.[0]).toMatchObject({ name: "kill-switch", action: "blocked" });
    expect(r.state.endpoints[EP(1)]?.ejection.status).toBe("active");
    expect(run(r.state, T0 + 2000, kill).decisions).toEqual([]);
  });

  test("pins: an operator's ejection ends with exactly one uneject when the pin is removed", () => {
    const healthyWindows = (now: number) => clusterWindows(now, eps);
    const pinned = op({ pins: { [EP(3)]: { ejected: true, by: "alice", reason: "maintenance" } } });
    const r = run(warm(), T0 + 1000, pinned, healthyWindows(T0 + 1000));
    expect(r.decisions.filter((d) => d.kind === "eject" && d.endpoint === EP(3))).toHaveLength(1);
    const after = run(r.state, T0 + 2000, NO_OPERATOR_SETTINGS, healthyWindows(T0 + 2000));
    expect(after.decisions.filter((d) => d.kind === "uneject" && d.endpoint === EP(3))).toHaveLength(1);
  });

  test("pins: the pinned weight is pushed as an operator decision and the rules keep off it", () => {
    const pinned = op({ pins: { [EP(2)]: { weight: 700, by: "alice", reason: "canary" }, [EP(1)]: { freeze: true } } });
    const r = run(warm(), T0 + 1000, pinned);
    expect(r.decisions.find((d) => d.rule === "operator-pin")).toMatchObject({
      endpoint: EP(2),
      kind: "set_weight",
      after: { weight: 700 },
    });
    const ej = r.decisions.find((d) => d.kind === "eject" && d.endpoint === EP(1));
    expect(ej?.guardrails?.[0]).toMatchObject({ name: "pin", action: "blocked" });
    expect(r.state.endpoints[EP(2)]?.weight.value).toBe(700);
    // Twenty seconds later EP(2) is slow: the weight rule wants to move it but the pin holds.
    let s = r.state;
    let blocked = 0;
    for (let t = 2; t < 30; t++) {
      const x = run(
        s,
        T0 + t * 1000,
        pinned,
        clusterWindows(T0 + t * 1000, [healthy(0), healthy(1), healthy(2, 60), healthy(3)]),
      );
      s = x.state;
      blocked += x.decisions.filter((d) => d.endpoint === EP(2) && d.guardrails?.some((g) => g.name === "pin")).length;
    }
    expect(blocked).toBe(1);
    expect(s.endpoints[EP(2)]?.weight.value).toBe(700);
  });

  test("rate limit: at most maxChangesPerMinute changes per cluster, hard ejections exempt", () => {
    // The first evaluation already tuned the pool limits (one change this minute).
    const limited = op({ maxChangesPerMinute: 2 });
    let s = warm();
    const slow = clusterWindows(T0 + 11_000, [
      healthy(0, 60),
      healthy(1, 60),
      healthy(2),
      healthy(3),
      healthy(4),
      healthy(5),
    ]);
    for (let t = 1; t <= 10; t++)
      s = run(
        s,
        T0 + t * 1000,
        limited,
        clusterWindows(
          T0 + t * 1000,
          [0, 1, 2, 3, 4, 5].map((i) => healthy(i)),
        ),
      ).state;
    const r = run(s, T0 + 11_000, limited, slow);
    const weights = r.decisions.filter((d) => d.kind === "set_weight");
    expect(weights.filter((d) => !d.guardrails?.some((g) => g.action === "blocked"))).toHaveLength(1);
    expect(weights.find((d) => d.guardrails?.some((g) => g.name === "rate-limit"))).toBeDefined();
  });

  test("dwell: a weight lowered is not raised again within 30 s", () => {
    let s = warm();
    const slow = (now: number, ms: number) => clusterWindows(now, [healthy(0), healthy(1), healthy(2, ms), healthy(3)]);
    for (let t = 1; t <= 12; t++) s = run(s, T0 + t * 1000, NO_OPERATOR_SETTINGS, slow(T0 + t * 1000, 60)).state;
    const down = s.endpoints[EP(2)]?.weight.value ?? 0;
    expect(down).toBeLessThan(100);
    // EP(2) is fast again right away: the reversal waits for the dwell time.
    const r = run(s, T0 + 13_000, NO_OPERATOR_SETTINGS, slow(T0 + 13_000, 20));
    expect(r.decisions.find((d) => d.endpoint === EP(2))?.guardrails?.at(-1)).toMatchObject({
      name: "dwell",
      action: "blocked",
    });
    expect(r.state.endpoints[EP(2)]?.weight.value).toBe(down);
    s = r.state;
    for (let t = 14; t <= 50; t++) s = run(s, T0 + t * 1000, NO_OPERATOR_SETTINGS, slow(T0 + t * 1000, 20)).state;
    expect(s.endpoints[EP(2)]?.weight.value).toBe(100);
  });
});
