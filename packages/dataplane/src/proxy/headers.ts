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

/** Field names listed in Connection values (lower-cased); undefined when there is no Connection field. */
function connectionTokens(names: readonly string[], values: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== "connection") continue;
    const v = values[i]!;
    // The common cases list no field: `keep-alive`, `close`.
    if (v.length <= 10 && /^(keep-alive|close)$/i.test(v)) continue;
    for (const t of v.split(",")) {
      const tok = t.trim().toLowerCase();
      if (tok && tok !== "close" && tok !== "keep-alive") out.push(tok);
    }
  }
  return out.length > 0 ? out : undefined;
}

function relay(names: string[], values: string[], out: string[]): string[] {
  const listed = names.includes("connection") ? connectionTokens(names, values) : undefined;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (HOP_BY_HOP.has(n) || listed?.includes(n)) continue;
    out.push(n, values[i]!);
  }
  return out;
}

/**
 * Upstream request fields from node's `rawHeaders` (original case kept), plus extra fields
 * (trace context) that replace any the client sent under the same name.
 */
export function requestHeaderList(raw: readonly string[], extra?: Readonly<Record<string, string>>): string[] {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (extra !== undefined && Object.hasOwn(extra, n)) continue;
    names.push(n);
    values.push(raw[i + 1]!);
  }
  const out = relay(names, values, []);
  if (extra !== undefined) for (const k in extra) out.push(k, extra[k]!);
  return out;
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

/** Downstream response fields from undici's raw response headers (Buffers, latin1). */
export function responseHeaderList(raw: readonly (Buffer | string)[]): string[] {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    names.push(raw[i]!.toString("latin1").toLowerCase());
    values.push(raw[i + 1]!.toString("latin1"));
  }
  return relay(names, values, []);
}
