/**
 * HTTP/1.1 response parsing for the pooled connections' client (h1-client.ts): the status line
 * and header block (RFC 9112 §4, §5) and the chunked transfer coding (§7.1). Strict where
 * leniency lets a response be read two ways (request smuggling's raw material): obsolete line
 * folding, a header name that is not a token, a control character inside a value, conflicting
 * Content-Length values, a malformed chunk size are protocol errors (502 to the client).
 */

export interface ResponseHead {
  status: number;
  statusText: string;
  /** Flat [name, value, …] as received (names in their original case). */
  headers: string[];
  keepAlive: boolean;
  /** Transfer-Encoding ends in chunked. */
  chunked: boolean;
  /** Content-Length; undefined when absent, or when a Transfer-Encoding other than chunked frames the body. */
  contentLength: number | undefined;
}

export type HeadResult = { ok: true; head: ResponseHead } | { ok: false; error: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: HTAB, visible ASCII, SP and obs-text (RFC 9110 §5.5); node's writeHead refuses the rest. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;

const fail = (error: string): HeadResult => ({ ok: false, error });

/** Parses a response head: the text up to (not including) the blank line. */
export function parseHead(text: string): HeadResult {
  const lineEnd = text.indexOf("\r\n");
  const first = lineEnd < 0 ? text : text.slice(0, lineEnd);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (!first.startsWith("HTTP/1.") || first.charCodeAt(8) !== 32) return fail("malformed status line");
  const minor = first.charCodeAt(7) - 48;
  if (minor !== 0 && minor !== 1) return fail("malformed status line");
  const code = first.slice(9, 12);
  if (!/^\d{3}$/.test(code) || (first.length > 12 && first.charCodeAt(12) !== 32)) return fail("malformed status line");
  const status = Number(code);
  if (status < 100) return fail("malformed status line");
  const headers: string[] = [];
  let keepAlive = minor === 1;
  let chunked = false;
  let te = false;
  let contentLength: number | undefined;
  let pos = lineEnd < 0 ? text.length : lineEnd + 2;
  while (pos < text.length) {
    let end = text.indexOf("\r\n", pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 2;
    const c = line.indexOf(":");
    if (c <= 0) return fail("malformed header line");
    const name = line.slice(0, c);
    if (!TOKEN.test(name)) return fail("malformed header name");
    const value = trimOws(line.slice(c + 1));
    if (BAD_VALUE.test(value)) return fail(`invalid character in ${name}`);
    headers.push(name, value);
    const n = name.length;
    if (n === 14 && name.toLowerCase() === "content-length") {
      const r = lengthOf(value, contentLength);
      if (r === undefined) return fail("invalid or conflicting Content-Length");
      contentLength = r;
    } else if (n === 17 && name.toLowerCase() === "transfer-encoding") {
      te = true;
      const codings = value.toLowerCase().split(",");
      chunked = trimOws(codings[codings.length - 1] ?? "") === "chunked";
    } else if (n === 10 && name.toLowerCase() === "connection") {
      for (const t of value.toLowerCase().split(",")) {
        const tok = trimOws(t);
        if (tok === "close") keepAlive = false;
        else if (tok === "keep-alive" && minor === 0) keepAlive = true;
      }
    }
  }
  // Transfer-Encoding in an HTTP/1.0 response: close after it (RFC 9112 §6.1).
  if (te && minor === 0) keepAlive = false;
  if (te && !chunked) {
    // A coding other than chunked last: the body runs to the end of the connection (§6.3).
    contentLength = undefined;
    keepAlive = false;
  }
  return {
    ok: true,
    head: { status, statusText: first.length > 13 ? first.slice(13) : "", headers, keepAlive, chunked, contentLength },
  };
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** A Content-Length field (possibly "5, 5"): its value, or undefined when invalid or unlike `prev`. */
function lengthOf(value: string, prev: number | undefined): number | undefined {
  if (DIGITS.test(value)) {
    const n = Number(value);
    return prev === undefined || prev === n ? n : undefined;
  }
  let out = prev;
  for (const part of value.split(",")) {
    const v = trimOws(part);
    if (!DIGITS.test(v)) return undefined;
    const n = Number(v);
    if (out !== undefined && out !== n) return undefined;
    out = n;
  }
  return out;
}

enum Chunk {
  Size = 0,
  Data = 1,
  DataEnd = 2,
  Trailer = 3,
  Done = 4,
}

/** Longest chunk-size line or trailer line kept while waiting for its end. */
const MAX_LINE = 8 * 1024;

export interface ChunkStep {
  done: boolean;
  /** Bytes after the final CRLF of the body (when done). */
  rest?: Buffer;
  error?: string;
}

/** Decodes the chunked transfer coding incrementally; data is handed to `deliver`, trailers dropped. */
export class ChunkedDecoder {
  #state = Chunk.Size;
  #line = "";
  #left = 0;

  push(d: Buffer, deliver: (chunk: Buffer) => void): ChunkStep {
    let i = 0;
    while (i < d.length) {
      if (this.#state === Chunk.Data) {
        const n = Math.min(this.#left, d.length - i);
        deliver(d.subarray(i, i + n));
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.#state = Chunk.DataEnd;
        continue;
      }
      if (this.#state === Chunk.Done) return { done: true, rest: d.subarray(i) };
      const nl = d.indexOf(10, i);
      this.#line += d.toString("latin1", i, nl < 0 ? d.length : nl);
      if (this.#line.length > MAX_LINE) return { done: false, error: "chunk line too long" };
      if (nl < 0) return { done: false };
      i = nl + 1;
      const line = this.#line;
      this.#line = "";
      if (!line.endsWith("\r")) return { done: false, error: "bare LF in chunked body" };
      const err = this.#takeLine(line.slice(0, -1));
      if (err) return { done: false, error: err };
    }
    return this.#state === Chunk.Done ? { done: true, rest: d.subarray(i) } : { done: false };
  }

  /** One complete line (CRLF removed) in the Size, DataEnd or Trailer state; an error text or undefined. */
  #takeLine(line: string): string | undefined {
    if (this.#state === Chunk.DataEnd) {
      if (line !== "") return "chunk data longer than its size";
      this.#state = Chunk.Size;
    } else if (this.#state === Chunk.Size) {
      const semi = line.indexOf(";");
      const hex = trimOws(semi < 0 ? line : line.slice(0, semi));
      if (!HEX.test(hex)) return "malformed chunk size";
      const n = Number.parseInt(hex, 16);
      if (n === 0) this.#state = Chunk.Trailer;
      else {
        this.#left = n;
        this.#state = Chunk.Data;
      }
    } else if (line === "") this.#state = Chunk.Done; // end of the (ignored) trailer section
    return undefined;
  }
}
