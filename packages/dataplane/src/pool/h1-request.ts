/**
 * The request side of a pooled HTTP/1.1 connection (h1-client.ts): the head, and the body
 * streamed as is when the request carries Content-Length, chunk-encoded otherwise (node's
 * server decodes a client's chunked body, so it is framed again here). Back-pressure: the
 * client's stream is paused while the upstream socket's buffer is full.
 */
import type { Socket } from "node:net";
import type { Readable } from "node:stream";

export interface RequestHead {
  method: string;
  path: string;
  /** Flat [name, value, …] or an object. */
  headers?: readonly string[] | Readonly<Record<string, string>> | null;
  /** A body follows (chunked when the fields carry no Content-Length). */
  hasBody: boolean;
}

/**
 * CR, LF or NUL in a field would split the head (request smuggling). node's parser never lets
 * them through from a client, but fields also come from hooks, config and code.
 */
const INJECTION = /[\r\n\0]/;

/**
 * Serialises a request head with a Host field (`defaultHost` when the fields carry none) and,
 * for a body of unknown length, Transfer-Encoding: chunked. Returns the head and whether the
 * body is chunked; throws on a field that would split the head.
 */
export function serializeHead(req: RequestHead, defaultHost: string): { text: string; chunked: boolean } {
  if (INJECTION.test(req.path) || INJECTION.test(req.method)) throw new TypeError("invalid request target");
  let text = `${req.method} ${req.path} HTTP/1.1\r\n`;
  let hasHost = false;
  let hasLength = false;
  const add = (name: string, value: string): void => {
    if (INJECTION.test(value) || INJECTION.test(name))
      throw new TypeError(`invalid header field ${JSON.stringify(name)}`);
    const n = name.length;
    if (n === 4 && name.toLowerCase() === "host") hasHost = true;
    else if (n === 14 && name.toLowerCase() === "content-length") hasLength = true;
    text += `${name}: ${value}\r\n`;
  };
  const h = req.headers;
  if (Array.isArray(h)) for (let i = 0; i + 1 < h.length; i += 2) add(h[i]!, h[i + 1]!);
  else if (h) for (const k in h) add(k, (h as Record<string, string>)[k]!);
  if (!hasHost) text += `host: ${defaultHost}\r\n`;
  const chunked = req.hasBody && !hasLength;
  if (chunked) text += "transfer-encoding: chunked\r\n";
  return { text: `${text}\r\n`, chunked };
}

export interface BodyTarget {
  socket: Socket;
  /** Called on every chunk written (the connection's inactivity deadline). */
  touch(): void;
  /** The whole body is written. */
  done(): void;
  /** The body ended early (the client went away or its stream failed). */
  fail(): void;
}

/** Starts streaming; returns a function that stops it (listeners removed, nothing more written). */
export function pipeRequestBody(body: Readable, chunked: boolean, t: BodyTarget): () => void {
  const sock = t.socket;
  const onData = (c: Buffer | string): void => {
    if (c.length === 0) return; // a zero-size chunk would end a chunked body
    t.touch();
    let ok: boolean;
    if (chunked) {
      // All three writes, whatever the first ones return: they are one chunk on the wire
      // (an && chain dropped the data under back-pressure: a body the client could shape
      // into a second request). Corked: one syscall.
      sock.cork();
      sock.write(`${Buffer.byteLength(c).toString(16)}\r\n`, "latin1");
      sock.write(c);
      ok = sock.write("\r\n", "latin1");
      sock.uncork();
    } else ok = sock.write(c);
    if (!ok) {
      body.pause();
      sock.once("drain", () => body.resume());
    }
  };
  const onEnd = (): void => {
    stop();
    if (chunked) sock.write("0\r\n\r\n", "latin1");
    t.done();
  };
  const onFail = (): void => {
    stop();
    t.fail();
  };
  const onClose = (): void => {
    if (!body.readableEnded) onFail();
  };
  const stop = (): void => {
    body.off("data", onData);
    body.off("end", onEnd);
    body.off("error", onFail);
    body.off("close", onClose);
    // Stopped early (the response came first): let node read and drop the rest of it.
    if (!body.readableEnded && body.isPaused()) body.resume();
  };
  body.on("data", onData);
  body.on("end", onEnd);
  body.on("error", onFail);
  body.on("close", onClose);
  if (body.readableEnded) onEnd();
  return stop;
}
