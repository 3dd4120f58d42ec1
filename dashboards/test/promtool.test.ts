/**
 * The Prometheus configuration under infra/prometheus passes promtool: the config (with its
 * rule files), the rules, and the rule unit tests (tests/rules.test.yml: each alert fires when
 * its condition holds long enough and stays quiet otherwise; recording rules compute the
 * expected values).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { findPrometheusBinary } from "@meshtune/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { PROMETHEUS_FILES } from "../src/render.js";
import { REPO_ROOT } from "./prometheus-bin.js";

function promtool(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, error: r.error };
}

describe("infra/prometheus with promtool", () => {
  let bin = "";
  beforeAll(() => {
    bin = findPrometheusBinary("promtool");
  }, 300_000);

  it("accepts prometheus.yml and the rule files it loads", () => {
    const r = promtool(bin, ["check", "config", join(REPO_ROOT, PROMETHEUS_FILES.config)]);
    expect(r.error).toBeUndefined();
    expect(r.out).toContain("SUCCESS");
    expect(r.status, r.out).toBe(0);
  });

  it("accepts the recording and alert rules", () => {
    const r = promtool(bin, [
      "check",
      "rules",
      join(REPO_ROOT, PROMETHEUS_FILES.recording),
      join(REPO_ROOT, PROMETHEUS_FILES.alerts),
    ]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(/WARNING|FAILED/);
  });

  it("passes the rule unit tests", () => {
    const r = promtool(bin, ["test", "rules", join(REPO_ROOT, PROMETHEUS_FILES.tests)]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
  });
});
