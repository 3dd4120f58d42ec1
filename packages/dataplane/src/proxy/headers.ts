/**
 * Header relay on flat arrays ([name, value, name, value, …]), as node's rawHeaders and
 * undici's raw response headers come: no header object rebuilt through Object.entries, no
 * Set per call (issue #15). Hop-by-hop fields (RFC 9110 §7.6.1) and the fields the
 * Connection header lists are dropped in both directions.
 */

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "http2-settings",
  // Node has already answered `100 Continue` to the client; undici refuses to send Expect.
  "expect",
]);

/**
 * Adds the field names a Connection value lists to `into` (lower-cased; `close` and
 * `keep-alive` are options, not fields). The common values list none.
 */
function listedBy(value: string, into: string[] | undefined): string[] | undefined {
  if (value.length <= 10 && /^(keep-alive|close)$/i.test(value)) return into;
  const out = into ?? [];
  for (const t of value.split(",")) {
    const tok = t.trim().toLowerCase();
    if (tok && tok !== "close" && tok !== "keep-alive") out.push(tok);
  }
  return out.length > 0 ? out : undefined;
}

/** `list` without the fields a Connection header listed (rare: a second pass only then). */
function dropListed(list: string[], listed: readonly string[] | undefined): string[] {
  if (listed === undefined) return list;
  const kept: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) if (!listed.includes(list[i]!)) kept.push(list[i]!, list[i + 1]!);
  return kept;
}

/** What the forwarder reads of a request's fields, found in the same pass that builds its upstream list. */
export interface RequestFields {
  /** Upstream request fields, flat, names lower-cased, hop-by-hop fields dropped. */
  list: string[];
  /** The Host field (the first one). */
  host: string | undefined;
  /** A body follows: Transfer-Encoding, or a Content-Length other than 0. */
  hasBody: boolean;
  /** The value of `warmName`, when asked for and present. */
  warm: string | undefined;
}

/**
 * One pass over node's `rawHeaders`: the upstream field list and the few fields the
 * forwarder needs, without node's `req.headers` object, which node builds on first access
 * with a call per field (`_addHeaderLine`: 1.0 → 0.1 % of the busy time in a CPU profile of one
 * request at a time; the total CPU moved less than its run-to-run spread, 2026-12-02).
 */
export function scanRequestFields(raw: readonly string[], warmName?: string): RequestFields {
  const list: string[] = [];
  let listed: string[] | undefined;
  let host: string | undefined;
  let hasBody = false;
  let warm: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    if (n === "host") host ??= v;
    else if (n === "transfer-encoding" || (n === "content-length" && v !== "0")) hasBody = true;
    else if (n === warmName) warm ??= v;
    if (HOP_BY_HOP.has(n)) {
      if (n === "connection") listed = listedBy(v, listed);
    } else list.push(n, v);
  }
  return { list: dropListed(list, listed), host, hasBody, warm };
}

/** Adds or replaces fields of an upstream request list (a retry's own trace context). */
export function withFields(list: readonly string[], extra: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (!Object.hasOwn(extra, list[i]!)) out.push(list[i]!, list[i + 1]!);
  }
  for (const k in extra) out.push(k, extra[k]!);
  return out;
}

/** Downstream response fields from the raw response headers (strings from the h1 codec, latin1 Buffers from undici), in one pass. */
export function responseHeaderList(raw: readonly (Buffer | string)[]): string[] {
  const list: string[] = [];
  let listed: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!.toString("latin1").toLowerCase();
    const v = raw[i + 1]!.toString("latin1");
    if (HOP_BY_HOP.has(n)) {
      if (n === "connection") listed = listedBy(v, listed);
    } else list.push(n, v);
  }
  return dropListed(list, listed);
}
