/**
 * A request body streamed onto a pooled HTTP/1.1 connection (h1-client.ts): as is when the
 * request carries Content-Length, chunk-encoded otherwise (node's server decodes a client's
 * chunked body, so it is framed again here). Back-pressure both ways: the client's stream is
 * paused while the upstream socket's buffer is full.
 */
import type { Socket } from "node:net";
import type { Readable } from "node:stream";

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
      // All three writes, whatever the first ones return: they are one chunk on the wire.
      sock.write(`${Buffer.byteLength(c).toString(16)}\r\n`, "latin1");
      sock.write(c);
      ok = sock.write("\r\n", "latin1");
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
  };
  body.on("data", onData);
  body.on("end", onEnd);
  body.on("error", onFail);
  body.on("close", onClose);
  if (body.readableEnded) onEnd();
  return stop;
}
