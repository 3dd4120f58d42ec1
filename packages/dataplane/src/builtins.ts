/**
 * Node builtins the proxy loads through `require` rather than an ES `import` (issue #15,
 * RSS ≤ 96 MiB).
 *
 * - node:http: an ES import builds a module namespace from every export, which reads
 *   node:http's lazy `WebSocket`, `CloseEvent` and `MessageEvent` getters, which load Node's
 *   bundled undici (fetch, WebSocket, web streams: a 745 KiB script) that the data plane
 *   never uses. Measured on Node 24.21, bare node after gc: `import "node:http"` heap
 *   +2.8 MiB, RSS +17.4 MiB; `require("node:http")` heap +0.5 MiB, RSS +3.7 MiB. With
 *   telemetry on, OpenTelemetry's exporters (ES builds, `import "http"`) load the bundle
 *   anyway: the gain is the `--no-telemetry` proxy's.
 * - node:cluster (with dgram and the cluster internals it pulls in): needed only by
 *   `--workers N`, so it is loaded on first use; a single-process proxy never loads it.
 *
 * A test checks that loading the data plane leaves both unloaded. Type-only imports of these
 * modules are erased by the compiler and stay as they are.
 */
import type * as NodeCluster from "node:cluster";
import type * as NodeHttp from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const http = require("node:http") as typeof NodeHttp;

export const createServer: typeof NodeHttp.createServer = http.createServer;

/** node:cluster, loaded on the first call. */
export function nodeCluster(): NodeCluster.Cluster {
  return require("node:cluster") as NodeCluster.Cluster;
}
