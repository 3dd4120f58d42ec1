/**
 * The data plane loads node:http through require and node:cluster on first use (builtins.ts,
 * issue #15 RSS): loading it must leave Node's bundled undici (fetch, WebSocket: what an ES
 * import of node:http pulls in) and node:cluster unloaded, and the functions must be Node's.
 */
import { execFileSync } from "node:child_process";
import cluster from "node:cluster";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createServer, nodeCluster } from "../src/builtins.js";

describe("builtins", () => {
  it("are Node's own", () => {
    expect(createServer).toBe(http.createServer);
    expect(nodeCluster()).toBe(cluster);
  });

  it("loading the data plane loads neither Node's bundled undici nor node:cluster", () => {
    // In a fresh process: this test file's own imports load both.
    const index = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `import(${JSON.stringify(index)}).then((m) => {
      const loaded = (name) => process.moduleLoadList.includes("NativeModule " + name);
      console.log(typeof m.EgressProxy, loaded("http"), loaded("internal/deps/undici/undici"), loaded("cluster"), m.workerId());
    })`;
    expect(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim()).toBe(
      "function true false false undefined",
    );
  });
});
