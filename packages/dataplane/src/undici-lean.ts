/**
 * undici's Client, loaded from its own module rather than the package index, and only when needed.
 *
 * Why (issue #15, RSS ≤ 96 MiB): `import "undici"` loads the whole package — fetch, WebSocket,
 * EventSource, the HTTP cache, mock agents: 111 files. The proxy uses one class. Measured
 * on Node 24 with undici 7.30 (bare node, after gc): RSS 42 → 72 MiB, heap 3.7 → 9.5 MiB for
 * the index; 58 MiB and 6.0 MiB for lib/dispatcher/client.js alone. undici has no "exports"
 * map, so these paths are public to Node's resolver; a test checks that they are the very
 * class the index exports, so an upgrade that moves them fails the build's tests, not a
 * proxy at run time.
 *
 * The index also installs the convenience API (request, stream, pipeline, connect, upgrade) on
 * Dispatcher.prototype; h2 health checks use `request`, so this module does the same, with the
 * same functions (index.js: `Object.assign(Dispatcher.prototype, api)`).
 */
import { createRequire } from "node:module";
import type { Client as UndiciClient } from "undici";

const require = createRequire(import.meta.url);

let loaded: typeof UndiciClient | undefined;

/**
 * undici's Client, loaded on first use: since HTTP/1.1 connections use our own codec
 * (pool/h1-client.ts, decision 0029), only h2 connections need undici, and a proxy without
 * h2 upstreams never loads it.
 */
export function undiciClient(): typeof UndiciClient {
  if (!loaded) {
    const Dispatcher = require("undici/lib/dispatcher/dispatcher.js") as { prototype: object };
    Object.assign(Dispatcher.prototype, require("undici/lib/api/index.js"));
    loaded = require("undici/lib/dispatcher/client.js") as typeof UndiciClient;
  }
  return loaded;
}
export type Client = UndiciClient;
