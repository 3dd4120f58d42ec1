/**
 * The proxy loads undici's Client and Pool from their own modules (undici-lean.ts, RSS); they
 * must be the classes the package exports, so an undici upgrade that moves them fails here.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as undici from "undici";
import { describe, expect, it } from "vitest";
import { Client, Pool } from "../src/undici-lean.js";

describe("undici-lean", () => {
  it("gives the very Client and Pool classes the undici package exports", () => {
    expect(Client).toBe(undici.Client);
    expect(Pool).toBe(undici.Pool);
  });

  it("gives them the request API without the package index (health checks and the warm path use it)", () => {
    // In a fresh process: this test file's own import of "undici" installs the API itself.
    const lean = fileURLToPath(new URL("../dist/undici-lean.js", import.meta.url));
    const script = `import(${JSON.stringify(lean)}).then((m) => console.log(typeof m.Client.prototype.request, typeof m.Pool.prototype.request, Object.keys(require.cache).some((f) => f.endsWith("undici/index.js"))))`;
    expect(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim()).toBe("function function false");
  });
});
