/**
 * Every dashboard panel has a unit, a description and queries; every query (panels, template
 * variables, annotations, recording and alert rules) is valid PromQL and selects only metric
 * names the contracts catalogs own (PROXY_METRICS, TUNER_METRICS, SCRAPE_METRICS).
 */
import { describe, expect, it } from "vitest";
import { catalogNames, dashboardExtras, metricNames, panels, ruleQueries } from "./queries.js";

const owned = catalogNames();

describe("dashboard panels", () => {
  it.each(panels().map((p) => [p.where, p] as const))("%s has a unit, a description and queries", (_, p) => {
    expect(p.unit, `${p.where}: unit`).toMatch(/\S/);
    expect(p.description, `${p.where}: description`).toMatch(/\S{3}/);
    expect(p.queries.length, `${p.where}: queries`).toBeGreaterThan(0);
  });
});

describe("queries use only contracts metric names", () => {
  const all = [...panels().flatMap((p) => p.queries), ...dashboardExtras(), ...ruleQueries()];

  it("covers panels, variables, annotations and rules", () => {
    expect(all.some((q) => q.where.includes("variable"))).toBe(true);
    expect(all.some((q) => q.where.includes("annotation"))).toBe(true);
    expect(all.some((q) => q.where.startsWith("alert"))).toBe(true);
    expect(all.some((q) => q.where.startsWith("recording rule"))).toBe(true);
  });

  it.each(all.map((q) => [q.where, q] as const))("%s", (_, q) => {
    const names = metricNames(q.expr);
    expect(names.length, `${q.where}: selects no metric: ${q.expr}`).toBeGreaterThan(0);
    const foreign = names.filter((n) => !owned.has(n));
    expect(foreign, `${q.where}: not in the contracts catalogs: ${q.expr}`).toEqual([]);
  });

  it("rejects a name outside the catalogs and a syntax error (the check itself works)", () => {
    expect(metricNames('sum(rate(http_requests_total{job="x"}[$__rate_interval]))')).toEqual(["http_requests_total"]);
    expect(owned.has("http_requests_total")).toBe(false);
    expect(() => metricNames("sum(rate(foo[1m])")).toThrow(/syntax error/);
  });
});
