/**
 * findPrometheusBinary: an explicit path in the environment wins, and otherwise both binaries
 * of Debian's prometheus package are found (or fetched into the cache) and actually run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPrometheusBinary } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "prometheus-bin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("findPrometheusBinary", () => {
  it("takes $PROMTOOL / $PROMETHEUS when they name an existing file", () => {
    const fake = join(dir, "my-promtool");
    writeFileSync(fake, "");
    expect(findPrometheusBinary("promtool", { env: { PROMTOOL: fake } })).toBe(fake);
    expect(findPrometheusBinary("prometheus", { env: { PROMETHEUS: fake, PROMTOOL: "/nowhere" } })).toBe(fake);
  });

  it.each(["promtool", "prometheus"] as const)(
    "finds a %s that runs",
    (name) => {
      const bin = findPrometheusBinary(name, { env: {} });
      const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain("version");
    },
    300_000,
  );
});
