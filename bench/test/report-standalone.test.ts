import { describe, expect, it } from "vitest";
import { standaloneRows } from "../src/report/standalone.js";

// Small copies of what each benchmark writes (bench/engine/run.mjs, bench/actuator/run.ts,
// services/collector/bench/run.mjs), with the figures of the committed results.
const engine = () => ({
  benchmark: "engine",
  latency: { proxies: 200, endpoints: 50, jobMs: { p99: 199.92 } },
  summary: {
    decisionP99Ms: 199.92,
    precisionMin: 1,
    recallMin: 1,
    hardFailureToDecisionMaxMs: 1000,
    latencyDegradationDetectMaxMs: 3000,
    stationaryFalseEjections: 0,
  },
  goals: {
    "decision p99 ≤ 100 ms (median of runs)": false,
    "precision ≥ 0.99": true,
    "recall = 1.0": true,
    "hard failure decided ≤ 1 s": true,
    "latency degradation ≤ 5 s": true,
    "no false ejection under stationary noise": true,
  },
});

const actuator = () => ({
  scenario: "actuator",
  goals: { decisionToAppliedP99Ms: 500, fleetFailuresVsOneProxy: 1.5 },
  latency: { proxies: 20, decisionToAppliedMs: { n: 2000, p50: 55, p99: 311 }, met: true },
  fleet: {
    failedWithTuner: 9,
    oneProxyThreshold: 5,
    ratioTunerToOneProxy: 1.8,
    met: false,
    detector: "stand-in for collector + engine",
  },
});

const collector = () => ({
  benchmark: "collector",
  goals: { spansPerCore: 48_000, pointsPerCore: 100_000 },
  perCore: {
    pointsEndToEndCollector: 310_881,
    pointsRedis: 184_162,
    requestSpansEndToEndCollector: 324_051,
    fastSpansStoredEndToEndCollector: 128_000,
  },
});

const figures = (rows: ReturnType<typeof standaloneRows>) => rows.map((r) => [r.meshtune, r.goal, r.met]);

describe("standalone benchmark rows", () => {
  it("engine: each goal's figure from summary, the target in words, and met", () => {
    const rows = standaloneRows("engine (standalone)", engine());
    expect(figures(rows)).toEqual([
      ["199.92", "≤ 100 ms", "NOT met"],
      ["1", "≥ 0.99", "met"],
      ["1", "= 1.0", "met"],
      ["1000", "≤ 1 s", "met"],
      ["3000", "≤ 5 s", "met"],
      ["0", "= 0", "met"],
    ]);
    expect(rows[0]!.scenario).toBe("engine (standalone)");
    expect(rows[0]!.metric).toBe("decision p99 ms (200 proxies × 50 endpoints, median of runs)");
  });

  it("engine: a goal without its figure keeps the verdict and says the figure is missing", () => {
    const [row] = standaloneRows("engine (standalone)", {
      benchmark: "engine",
      goals: { "decision p99 ≤ 100 ms": true },
    });
    expect(row).toMatchObject({ meshtune: "-", goal: "≤ 100 ms", met: "met" });
    expect(row!.metric).toContain("figure not in the JSON");
  });

  it("engine: the figure decides met, and a different verdict in the JSON is said", () => {
    const json = { ...engine(), summary: { ...engine().summary, precisionMin: 0.98 } };
    const row = standaloneRows("engine (standalone)", json)[1]!;
    expect(row).toMatchObject({ meshtune: "0.98", met: "NOT met" });
    expect(row.metric).toContain("the benchmark judged it met");
  });

  it("actuator: decision-to-applied p99 (≤) and fleet failures ÷ one proxy's threshold (≤)", () => {
    const rows = standaloneRows("actuator (standalone)", actuator());
    expect(figures(rows)).toEqual([
      ["311", "≤ 500 ms", "met"],
      ["1.8", "≤ 1.5×", "NOT met"],
    ]);
    expect(rows[1]!.metric).toContain("9 failed ÷ 5");
    // actuator-latest.json also carries a later run; its figure and verdict are in the note.
    const repeated = { ...actuator(), latencyRepeat: { decisionToAppliedMs: { p99: 720 } } };
    expect(standaloneRows("actuator (standalone)", repeated)[0]!.metric).toContain("latencyRepeat run: 720, NOT met");
    const slow = { ...actuator(), latency: { decisionToAppliedMs: { p99: 501 } } };
    expect(standaloneRows("actuator (standalone)", slow)[0]!.met).toBe("NOT met");
  });

  it("actuator: a run without the fleet part shows no figure and no verdict for it", () => {
    const { fleet: _, ...latencyOnly } = actuator();
    const row = standaloneRows("actuator (standalone)", latencyOnly)[1]!;
    expect(row).toMatchObject({ meshtune: "-", goal: "≤ 1.5×", met: "-" });
    expect(row.metric).toContain("figure not in the JSON");
  });

  it("collector: per-core figures against ≥ goals; spans by the slower of the two paths", () => {
    const rows = standaloneRows("collector (standalone)", collector());
    expect(figures(rows)).toEqual([
      ["128000", "≥ 48000", "met"],
      ["310881", "≥ 100000", "met"],
    ]);
    const slow = { ...collector(), perCore: { ...collector().perCore, fastSpansStoredEndToEndCollector: 40_000 } };
    expect(figures(standaloneRows("collector (standalone)", slow))[0]).toEqual(["40000", "≥ 48000", "NOT met"]);
    const none = standaloneRows("collector (standalone)", { benchmark: "collector", goals: collector().goals });
    expect(figures(none)).toEqual([
      ["-", "≥ 48000", "-"],
      ["-", "≥ 100000", "-"],
    ]);
    expect(none[0]!.metric).toContain("figure not in the JSON");
  });

  it("tells the benchmark by the name when the JSON does not say, and skips JSON without goals", () => {
    const { scenario: _, ...unnamed } = actuator();
    expect(standaloneRows("actuator (standalone)", unnamed)[0]!.meshtune).toBe("311");
    expect(standaloneRows("engine (standalone)", {})).toEqual([]);
  });
});
