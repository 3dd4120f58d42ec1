/**
 * undici's Client is loaded on first use from its own module (undici-lean.ts, RSS): only h2
 * connections need it since HTTP/1.1 uses our codec (decision 0029). It must be the class the
 * package exports, so an undici upgrade that moves it fails here.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as undici from "undici";
import { describe, expect, it } from "vitest";
import { undiciClient } from "../src/undici-lean.js";

describe("undici-lean", () => {
  it("gives the very Client class the undici package exports", () => {
    expect(undiciClient()).toBe(undici.Client);
  });

  it("loads nothing of undici with the data plane, and on first use the Client with the request API but not the package index", () => {
    // In a fresh process: this test file's own import of "undici" installs the API itself.
    const index = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const lean = fileURLToPath(new URL("../dist/undici-lean.js", import.meta.url));
    const script = `(async () => {
      await import(${JSON.stringify(index)});
      const undiciFiles = () => Object.keys(require.cache).filter((f) => f.includes("/undici/")).length;
      const before = undiciFiles();
      const m = await import(${JSON.stringify(lean)});
      const C = m.undiciClient();
      console.log(before, typeof C.prototype.request, Object.keys(require.cache).some((f) => f.endsWith("undici/index.js")));
    })()`;
    expect(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim()).toBe("0 function false");
  });
});
