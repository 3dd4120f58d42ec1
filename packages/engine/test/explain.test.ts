import { expect, test } from "vitest";
import {
  decisionId,
  evaluate,
  formatExplanation,
  initialState,
  NO_OPERATOR_SETTINGS,
  parseDecisionId,
  resolveEngineConfig,
} from "../src/index.js";
import { clusterWindows, EP, signal, T0 } from "./windows.js";

test("decision ids are deterministic and name their cluster and time", () => {
  const parts = { cluster: "api.example.com", endpoint: EP(1), rule: "fleet-eject", kind: "eject", at: T0 };
  const id = decisionId(parts);
  expect(decisionId(parts)).toBe(id);
  expect(decisionId({ ...parts, at: T0 + 1000 })).not.toBe(id);
  expect(parseDecisionId(id)).toMatchObject({ cluster: "api.example.com", at: T0 });
  expect(parseDecisionId("nonsense")).toBeUndefined();
});

test("the explanation names the decision, rule, figures, guardrails and the counterfactual", () => {
  const config = resolveEngineConfig();
  const eps = [0, 1, 2, 3].map((i) => ({ endpoint: EP(i), ok: 500 }));
  const s = evaluate({
    config,
    windows: clusterWindows(T0, eps),
    state: initialState(),
    now: T0,
    operator: NO_OPERATOR_SETTINGS,
  }).state;
  const windows = clusterWindows(T0 + 1000, eps, [signal(EP(3), "proxy-9", T0 + 600)]);
  const d = evaluate({
    config,
    windows,
    state: s,
    now: T0 + 1000,
    operator: { ...NO_OPERATOR_SETTINGS, dryRun: { cluster: false, global: true } },
  }).decisions[0]!;
  const text = formatExplanation(d);
  expect(text).toContain(`Decision ${d.id}`);
  expect(text).toContain(`eject on api.example.com / ${EP(3)}: DRY-RUN`);
  expect(text).toContain("Rule: fleet-eject");
  expect(text).toContain("warmup_failure reported by proxy proxy-9");
  expect(text).toContain("ejected: false -> true");
  expect(text).toContain("proxiesReporting: 10");
  expect(text).toContain("dry-run: blocked - global dry-run is on");
  expect(text).toContain("Without this decision:\n  Without it each of the 10 proxies would keep sending");
});
