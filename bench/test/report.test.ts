import { describe, expect, it } from "vitest";
import type { Sample } from "../src/lib/load.js";
import type { Scenario } from "../src/lib/run.js";
import { fleetPlots, renderPng, summaryPlots } from "../src/report/plots.js";
import { renderReport } from "../src/report/report-md.js";
import { buildRows, markdownTable } from "../src/report/table.js";
import type { Results } from "../src/report.js";
import { analyseControl, analyseTraffic, spread } from "../src/scenarios/tuner-fleet-analysis.js";

const sample = (at: number, ok: boolean, latency = 2): Sample => ({ index: at, at, latency, ok });

/**
 * Two proxies, 10 requests/s each for 4 s; the endpoint dies at 2 s: proxy 0 fails 3 times,
 * proxy 1 once, plus one request it sent before the death that was reset after it.
 */
function traffic() {
  const proxy = (fails: number[]) =>
    Array.from({ length: 40 }, (_, i) => i * 100).map((at) => sample(at, !fails.includes(at), at < 2000 ? 2 : 5));
  return analyseTraffic([proxy([2000, 2100, 2300]), [...proxy([2200]), sample(1950, false, 100)]], 2000);
}

function results(): Results {
  const t = traffic();
  const control = analyseControl({
    loadStartedAt: 1_000_000,
    deathAt: 1_002_000,
    deadEndpoint: "127.0.0.1:3",
    decisions: [
      {
        id: "a",
        kind: "eject",
        rule: "fleet-eject",
        endpoint: "127.0.0.1:3",
        decidedAt: 1_002_000,
        writtenAt: 1_002_150,
        applied: true,
      },
      // A renewal: the version that folds it changes nothing for its endpoint.
      {
        id: "b",
        kind: "eject",
        rule: "fleet-eject",
        endpoint: "127.0.0.1:3",
        decidedAt: 1_003_000,
        writtenAt: 1_003_100,
        applied: true,
      },
    ],
    versions: [
      { version: 1, issuedAt: 1_002_200, override: { endpointOverrides: { "127.0.0.1:3": { ejected: true } } } },
      {
        version: 2,
        issuedAt: 1_003_200,
        override: { endpointOverrides: { "127.0.0.1:3": { ejected: true } }, pool: { x: 1 } },
      },
    ],
    acks: [
      { proxyId: "p0", version: 1, status: "ACK", at: 1_002_250 },
      { proxyId: "p1", version: 2, status: "ACK", at: 1_003_300 },
    ],
  });
  return {
    meta: { startedAt: "2026-12-01T00:00:00.000Z", quick: true, cpuModel: "test", cpus: 2, scenarios: ["tuner-fleet"] },
    scenarios: {
      "tuner-fleet": {
        title: "fleet",
        description: "fixture",
        params: { deathAtMs: 2000, deadEndpoint: "e3" },
        systems: {
          meshtune: { label: "meshtune + tuner ×2", ...t, control },
          haproxy: { label: "HAProxy ×2", ...t, failedAfterDeath: 6 },
          nginx: { label: "NGINX ×2", error: "did not start" },
        },
        goals: [
          {
            goal: "fleet-wide failed requests ≤ 1.5× one proxy's threshold",
            system: "meshtune",
            target: "≤ 3",
            value: 4,
            met: false,
            compare: { meshtune: 4, haproxy: 6, nginx: null, ratio: 2, ratioOf: "÷ one proxy alone" },
          } as never,
          { goal: "claim: HAProxy lets one wait", system: "haproxy", target: "≥ 1", value: 2, met: true },
        ],
        notes: [],
      },
    },
  };
}

const scenario: Scenario = {
  name: "tuner-fleet",
  title: "fleet",
  run: async () => {
    throw new Error("not run in tests");
  },
  table: (r) => [
    {
      metric: "failed after the death",
      values: { meshtune: String(r.systems.meshtune?.failedAfterDeath), haproxy: "6", nginx: "FAILED" },
    },
    { metric: "meshtune only", values: { meshtune: "1", haproxy: "-", nginx: "-" } },
  ],
};

describe("tuner-fleet analysis", () => {
  it("counts failures after the death per fleet and per proxy, and the time to the last one", () => {
    const t = traffic();
    expect(t.failedAfterDeath).toBe(5);
    expect(t.failedBeforeDeath).toBe(0);
    expect(t.failedPerProxy).toEqual({ mean: 2.5, max: 3, min: 2 });
    expect(t.deathToLastFailureMs).toBe(300);
    expect(t.series).toHaveLength(5);
    expect(t.series[2]).toMatchObject({ t: 2, requests: 20, failed: 4 });
    expect(t.deathTimeline.reduce((a, p) => a + p.failed, 0)).toBe(5);
    expect(t.cdf.at(-1)?.ms).toBe(5);
  });

  it("measures decision-to-applied per (decision, proxy), skipping renewals that changed nothing", () => {
    const c = results().scenarios["tuner-fleet"]!.systems.meshtune!.control as ReturnType<typeof analyseControl>;
    // p0 applied version 1 250 ms after decidedAt; p1 skipped it and applied version 2 at 1300 ms.
    expect(c.decisionToApplied).toMatchObject({ samples: 2, p50: 250, max: 1300 });
    expect(c.committedToApplied).toMatchObject({ samples: 2, p50: 100 });
    expect(c.noOps).toBe(1);
    expect(c.deadEjectedAfterMs).toBe(0);
    expect(spread([3, null, 1, 2])).toEqual({ n: 3, min: 1, median: 2, max: 3 });
  });
});

describe("report table", () => {
  it("puts goals first with every system's figure and met, then comparative figures", () => {
    const rows = buildRows([scenario], results());
    expect(rows[0]).toMatchObject({
      meshtune: "4",
      haproxy: "6",
      nginx: "-",
      ratio: "2 (÷ one proxy alone)",
      met: "NOT met",
    });
    expect(rows[1]).toMatchObject({ haproxy: "2", meshtune: "-", met: "met" });
    expect(rows[2]).toMatchObject({ metric: "failed after the death", meshtune: "5", ratio: "0.83 (÷ HAProxy)" });
    expect(rows.some((r) => r.metric === "meshtune only")).toBe(false);
    const md = markdownTable(rows);
    expect(md.split("\n")[0]).toBe("| scenario | metric | meshtune | HAProxy | NGINX | ratio | goal | met |");
    expect(md).toContain("| NOT met |");
  });

  it("renders a report with the table and the plot links", () => {
    const md = renderReport({
      results: results(),
      rows: buildRows([scenario], results()),
      plots: [{ title: "CDF", file: "plots/x/cdf.png" }],
      standaloneFiles: [],
    });
    expect(md).toContain("QUICK");
    expect(md).toContain("![CDF](plots/x/cdf.png)");
  });
});

describe("plots", () => {
  it("builds the fleet plots from the results and renders a PNG", async () => {
    const plots = fleetPlots(results());
    expect(plots.map((p) => p.name)).toEqual([
      "tuner-fleet-latency",
      "tuner-fleet-errors",
      "tuner-fleet-errors-zoom",
      "tuner-fleet-cdf",
    ]);
    const latency = JSON.stringify(plots[0]!.spec);
    expect(latency).toContain("meshtune + tuner ×2");
    expect(latency).toContain("e3 dies");
    expect(latency).not.toContain("NGINX ×2"); // a failed system has no series
    const png = await renderPng(plots[3]!.spec);
    expect(png.length).toBeGreaterThan(1000);
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  }, 30_000);

  it("plots the other scenarios' latency summaries", () => {
    const r: Results = {
      meta: {},
      scenarios: {
        overhead: {
          title: "o",
          description: "",
          params: {},
          systems: { haproxy: { label: "HAProxy", latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5 } } },
          goals: [],
          notes: [],
        },
      },
    };
    expect(summaryPlots(r).map((p) => p.name)).toEqual(["overhead-percentiles"]);
  });
});
