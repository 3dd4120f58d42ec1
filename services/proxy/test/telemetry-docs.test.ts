/**
 * The telemetry catalog (packages/contracts/src/telemetry.ts) is the only place names are
 * spelled: docs/telemetry.md must be what the generator makes of it, metric names must follow
 * Prometheus conventions, and the semconv names the catalog spells out for the docs must be the
 * ones @opentelemetry/semantic-conventions exports (which the adapter imports).
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ATTR, LABEL, PROXY_METRICS, PROXY_RESOURCE, PROXY_SPANS } from "@meshtune/contracts";
import * as semconv from "@opentelemetry/semantic-conventions";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

describe("telemetry catalog and its generated docs", () => {
  it("docs/telemetry.md is up to date with the catalog", () => {
    const r = spawnSync(process.execPath, ["packages/contracts/scripts/gen-telemetry-docs.mjs", "--check"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("metric names follow Prometheus naming: snake_case, _total counters, base-unit suffixes", () => {
    const names = new Set<string>();
    for (const m of Object.values(PROXY_METRICS)) {
      expect(m.name).toMatch(/^meshtune_proxy_[a-z0-9_]+$/);
      expect(names.has(m.name), `duplicate ${m.name}`).toBe(false);
      names.add(m.name);
      if (m.type === "counter") expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      if ("unit" in m && m.unit === "seconds") expect(m.name).toMatch(/_seconds$/);
      if (m.type === "histogram") {
        expect("buckets" in m && m.buckets.length > 0).toBe(true);
        const b = [...("buckets" in m ? m.buckets : [])];
        expect(b).toEqual([...b].sort((x, y) => x - y));
      }
      for (const l of m.labels) {
        expect(Object.values(LABEL)).toContain(l);
        expect(l).toMatch(/^[a-z][a-z0-9_]*$/);
      }
      expect(m.help.length).toBeGreaterThan(10);
    }
  });

  it("every span attribute is a meshtune attribute or a stable semconv name; resource names exist in semconv", () => {
    const stable = new Set<unknown>(
      Object.entries(semconv)
        .filter(([k]) => k.startsWith("ATTR_"))
        .map(([, v]) => v),
    );
    const mine = new Set<string>(Object.values(ATTR));
    for (const name of Object.values(ATTR)) expect(name).toMatch(/^meshtune\.[a-z0-9_.]+$/);
    for (const span of Object.values(PROXY_SPANS)) {
      for (const a of span.attributes) expect(mine.has(a) || stable.has(a), `${span.name}: ${a}`).toBe(true);
    }
    const all = new Set<unknown>(
      Object.entries({ ...incubating, ...semconv })
        .filter(([k]) => k.startsWith("ATTR_"))
        .map(([, v]) => v),
    );
    for (const r of Object.values(PROXY_RESOURCE)) expect(all.has(r.name), r.name).toBe(true);
  });
});
