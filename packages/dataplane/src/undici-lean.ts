/**
 * undici's Client and Pool, loaded from their own modules rather than the package index.
 *
 * Why (issue #15, RSS ≤ 96 MiB): `import "undici"` loads the whole package — fetch, WebSocket,
 * EventSource, the HTTP cache, mock agents: 111 files. The proxy uses two classes. Measured
 * on Node 24 with undici 7.30 (bare node, after gc): RSS 42 → 72 MiB, heap 3.7 → 9.5 MiB for
 * the index; 58 MiB and 6.0 MiB for lib/dispatcher/client.js alone. undici has no "exports"
 * map, so these paths are public to Node's resolver; a test checks that they are the very
 * classes the index exports, so an upgrade that moves them fails the build's tests, not a
 * proxy at run time.
 *
 * The index also installs the convenience API (request, stream, pipeline, connect, upgrade) on
 * Dispatcher.prototype; health checks and the warm path use `request`, so this module does
 * the same, with the same functions (index.js: `Object.assign(Dispatcher.prototype, api)`).
 */
import { createRequire } from "node:module";
import type { Client as UndiciClient, Pool as UndiciPool } from "undici";

const require = createRequire(import.meta.url);

const Dispatcher = require("undici/lib/dispatcher/dispatcher.js") as { prototype: object };
Object.assign(Dispatcher.prototype, require("undici/lib/api/index.js"));

export const Client = require("undici/lib/dispatcher/client.js") as typeof UndiciClient;
export type Client = UndiciClient;
export const Pool = require("undici/lib/dispatcher/pool.js") as typeof UndiciPool;
export type Pool = UndiciPool;
