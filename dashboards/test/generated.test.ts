/**
 * The committed generated files (dashboards/generated/*.json, infra/prometheus/**) are what the
 * code in src/ renders today: a change to a dashboard, a rule or a contracts metric name fails
 * here until `pnpm --filter @meshtune/dashboards generate` is run and its output committed.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAll } from "../src/render.js";
import { REPO_ROOT } from "./prometheus-bin.js";

describe("generated files", () => {
  const rendered = renderAll();

  it.each([...rendered.keys()])("%s is up to date", (path) => {
    const file = join(REPO_ROOT, path);
    expect(existsSync(file), `${path} missing: run pnpm --filter @meshtune/dashboards generate`).toBe(true);
    expect(readFileSync(file, "utf8"), `${path} is stale: run pnpm --filter @meshtune/dashboards generate`).toBe(
      rendered.get(path),
    );
  });

  it("has no dashboard JSON that the code no longer renders", () => {
    const committed = readdirSync(join(REPO_ROOT, "dashboards", "generated")).map((f) => `dashboards/generated/${f}`);
    expect(committed.sort()).toEqual([...rendered.keys()].filter((p) => p.startsWith("dashboards/generated/")).sort());
  });
});
