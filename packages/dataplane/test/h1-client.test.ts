/**
 * The pooled connections' HTTP/1.1 codec (pool/h1-client.ts, h1-parse.ts; decision 0029)
 * against real loopback sockets whose server writes raw bytes, and its parsers as pure code.
 */
import net from "node:net";
import { Readable } from "node:stream";
import { FakeClock } from "@meshtune/testkit";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../src/clock.js";
import { H1Connection, type H1Handler, type H1Request } from "../src/pool/h1-client.js";
import { ChunkedDecoder, parseHead } from "../src/pool/h1-parse.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A server that answers each request head (or each request's end) with `respond`. */
async function rawServer(respond: (sock: net.Socket, request: string, n: number) => void): Promise<number> {
  const server = net.createServer((sock) => {
    let buf = "";
    let n = 0;
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      // One response per complete request: a head, plus its chunked body when it has one.
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end);
        let len = end + 4;
        if (/transfer-encoding: chunked/i.test(head)) {
          const fin = buf.indexOf("0\r\n\r\n", len);
          if (fin < 0) return;
          len = fin + 5;
        } else {
          const cl = /content-length: (\d+)/i.exec(head);
          if (cl) len += Number(cl[1]);
          if (buf.length < len) return;
        }
        const request = buf.slice(0, len);
        buf = buf.slice(len);
        respond(sock, request, ++n);
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

interface Seen {
  status?: number;
  headers?: string[];
  body: Buffer[];
  done: Promise<{ kind: "complete" } | { kind: "error"; code: string | undefined; message: string }>;
}

function collect(): { handler: H1Handler; seen: Seen } {
  let settle!: (v: Awaited<Seen["done"]>) => void;
  const seen: Seen = { body: [], done: new Promise((r) => (settle = r)) };
  const handler: H1Handler = {
    onHeaders(status, headers) {
      seen.status = status;
      seen.headers = headers;
      return true;
    },
    onData(c) {
      seen.body.push(Buffer.from(c));
      return true;
    },
    onComplete: () => settle({ kind: "complete" }),
    onError: (e) => settle({ kind: "error", code: (e as { code?: string }).code, message: e.message }),
  };
  return { handler, seen };
}

/** A handler that holds the response back (onData answers false) until `release()`. */
function collectHeldBack() {
  const { handler, seen } = collect();
  let resume: (() => void) | undefined;
  handler.onHeaders = (status, _h, r) => {
    seen.status = status;
    resume = r;
    return true;
  };
  const onData = handler.onData!;
  handler.onData = (c) => {
    onData(c);
    return false;
  };
  /** Stops holding back and resumes reading. */
  const release = (): void => {
    handler.onData = onData;
    resume?.();
  };
  return { handler, seen, release };
}

async function connect(port: number, clock = systemClock) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  const unusable: boolean[] = [];
  const h1 = new H1Connection({ socket, clock, defaultHost: `127.0.0.1:${port}`, onUnusable: (p) => unusable.push(p) });
  closers.push(() => socket.destroy());
  return { h1, socket, unusable };
}

const GET: H1Request = { method: "GET", path: "/x", headers: ["host", "a.example"] };

async function send(h1: H1Connection, req: H1Request = GET) {
  const { handler, seen } = collect();
  h1.dispatch(req, handler);
  const out = await seen.done;
  return { ...seen, out, text: Buffer.concat(seen.body).toString() };
}

describe("h1 codec on a socket", () => {
  it("reads a Content-Length response written a byte at a time, then serves the next request on the same connection", async () => {
    const port = await rawServer((sock, _req, n) => {
      const body = `hello ${n}`;
      const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      if (n === 1)
        bytes.forEach((b, i) => {
          setTimeout(() => sock.write(Buffer.of(b)), i);
        });
      else sock.write(bytes);
    });
    const { h1, unusable } = await connect(port);
    const r1 = await send(h1);
    expect(r1.out).toEqual({ kind: "complete" });
    expect(r1.status).toBe(200);
    expect(r1.headers).toEqual(["X-A", "1", "Content-Length", "7"]);
    expect(r1.text).toBe("hello 1");
    const r2 = await send(h1);
    expect(r2.text).toBe("hello 2");
    expect(unusable).toEqual([]);
  });

  it("decodes a chunked response with extensions and trailers and stays reusable", async () => {
    const port = await rawServer((sock) =>
      sock.write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n",
      ),
    );
    const { h1, unusable } = await connect(port);
    expect((await send(h1)).text).toBe("hello world");
    expect((await send(h1)).text).toBe("hello world");
    expect(unusable).toEqual([]);
  });

  it("skips 1xx, reads no body for HEAD, 204 and 304, and reads to the end of the connection without framing", async () => {
    const port = await rawServer((sock, req) => {
      if (req.startsWith("HEAD")) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
      else if (req.includes("/204")) sock.write("HTTP/1.1 204 No Content\r\n\r\n");
      else if (req.includes("/304")) sock.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
      else if (req.includes("/eof")) sock.end("HTTP/1.1 200 OK\r\n\r\nall of it");
      else sock.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    });
    const { h1, unusable } = await connect(port);
    const cont = await send(h1);
    expect([cont.status, cont.text]).toEqual([201, "ok"]);
    expect((await send(h1, { ...GET, method: "HEAD" })).out).toEqual({ kind: "complete" });
    expect((await send(h1, { ...GET, path: "/204" })).status).toBe(204);
    expect((await send(h1, { ...GET, path: "/304" })).status).toBe(304);
    expect(unusable).toEqual([]);
    const eof = await send(h1, { ...GET, path: "/eof" });
    expect([eof.out.kind, eof.text]).toEqual(["complete", "all of it"]);
    expect(unusable).toEqual([false]);
  });

  it("Connection: close and Transfer-Encoding with Content-Length make the connection unusable before onComplete", async () => {
    for (const res of [
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
    ]) {
      const port = await rawServer((sock) => sock.write(res));
      const { h1, unusable } = await connect(port);
      const { handler, seen } = collect();
      const complete = handler.onComplete!;
      let unusableAtComplete: boolean[] = [];
      handler.onComplete = (t) => {
        unusableAtComplete = [...unusable];
        complete(t);
      };
      h1.dispatch(GET, handler);
      expect(await seen.done).toEqual({ kind: "complete" });
      expect(Buffer.concat(seen.body).toString()).toBe("x");
      expect(unusableAtComplete).toEqual([false]);
    }
  });

  it("answers malformed responses with a protocol error, and a peer that closes mid-body with a reset", async () => {
    const bad = [
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    ];
    for (const res of bad) {
      const port = await rawServer((sock) => sock.write(res));
      const { h1, unusable } = await connect(port);
      const r = await send(h1);
      expect(r.out, res.slice(0, 40)).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_PROTOCOL" });
      expect(unusable).toEqual([false]);
    }
    const port = await rawServer((sock) => sock.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"));
    const { h1, unusable } = await connect(port);
    const r = await send(h1);
    expect(r.out).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_RESET" });
    expect(r.text).toBe("half");
    expect(unusable).toEqual([true]);
  });

  it("sends a body of unknown length chunked and one with Content-Length as is; adds Host when missing", async () => {
    const requests: string[] = [];
    const port = await rawServer((sock, req) => {
      requests.push(req);
      sock.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    const { h1 } = await connect(port);
    await send(h1, {
      method: "POST",
      path: "/u",
      headers: ["host", "a"],
      body: Readable.from([Buffer.from("ab"), Buffer.from("c")]),
    });
    await send(h1, {
      method: "POST",
      path: "/k",
      headers: ["content-length", "3"],
      body: Readable.from([Buffer.from("xyz")]),
    });
    expect(requests[0]).toBe(
      "POST /u HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
    );
    expect(requests[1]).toBe(`POST /k HTTP/1.1\r\ncontent-length: 3\r\nhost: 127.0.0.1:${port}\r\n\r\nxyz`);
  });

  it("refuses CR/LF in object headers (config and code), failing the request instead of writing it", async () => {
    const port = await rawServer(() => {});
    const { h1 } = await connect(port);
    const r = await send(h1, { method: "GET", path: "/", headers: { host: "a\r\nx-injected: 1" } });
    expect(r.out).toMatchObject({ kind: "error" });
  });

  it("times out on the injected clock: no headers, then no body data, measured from the last byte", async () => {
    const clock = new FakeClock(1_000);
    const port = await rawServer((sock, req) => {
      if (req.includes("/body")) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
    });
    const { h1 } = await connect(port, clock);
    const { handler, seen } = collect();
    h1.dispatch({ ...GET, timeoutMs: 500 }, handler);
    clock.advance(499);
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(1);
    expect(await seen.done).toMatchObject({ kind: "error", code: "MESHTUNE_HEADERS_TIMEOUT" });

    const c2 = await connect(port, clock);
    const b = collect();
    c2.h1.dispatch({ ...GET, path: "/body", timeoutMs: 500 }, b.handler);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.seen.status).toBe(200);
    clock.advance(500);
    expect(await b.seen.done).toMatchObject({ kind: "error", code: "MESHTUNE_BODY_TIMEOUT" });
    expect(Buffer.concat(b.seen.body).toString()).toBe("ab");
  });

  it("stops reading while the handler is back-pressured and resumes on its call", async () => {
    const port = await rawServer((sock) => {
      sock.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
      setTimeout(() => sock.write("def"), 30);
    });
    const { h1, socket } = await connect(port);
    const { handler, seen, release } = collectHeldBack();
    h1.dispatch(GET, handler);
    await new Promise((r) => setTimeout(r, 80));
    expect(socket.isPaused()).toBe(true);
    expect(Buffer.concat(seen.body).toString()).toBe("abc");
    release();
    expect(await seen.done).toEqual({ kind: "complete" });
    expect(Buffer.concat(seen.body).toString()).toBe("abcdef");
  });

  it("abort from the handler fails the request with the given error and closes the socket", async () => {
    const port = await rawServer(() => {});
    const { h1, socket, unusable } = await connect(port);
    const { handler, seen } = collect();
    handler.onConnect = (abort) => setTimeout(() => abort(new Error("client went away")), 10);
    h1.dispatch(GET, handler);
    expect(await seen.done).toMatchObject({ kind: "error", message: "client went away" });
    expect(unusable).toEqual([false]);
    expect(socket.destroyed).toBe(true);
  });
});

describe("h1 codec: review regressions (2026-12-02)", () => {
  it("a chunked upload against a slow reader arrives intact (size, data and CRLF are never split by back-pressure)", async () => {
    let raw = Buffer.alloc(0);
    let got!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => (got = r));
    const server = net.createServer((sock) => {
      sock.pause();
      setTimeout(() => sock.resume(), 300);
      sock.on("data", (d) => {
        raw = Buffer.concat([raw, d]);
        if (raw.subarray(-5).toString() === "0\r\n\r\n") {
          got(raw);
          sock.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.close());
    const { h1 } = await connect((server.address() as net.AddressInfo).port);
    const chunk = Buffer.alloc(64 * 1024, "a");
    const body = Readable.from(Array.from({ length: 200 }, () => chunk));
    const r = send(h1, { method: "POST", path: "/up", headers: ["host", "a"], body });
    const wire = await received;
    expect((await r).out).toEqual({ kind: "complete" });
    const head = wire.indexOf("\r\n\r\n") + 4;
    const out: Buffer[] = [];
    const step = new ChunkedDecoder().push(wire.subarray(head), (c) => out.push(Buffer.from(c)));
    expect(step).toMatchObject({ done: true });
    expect(Buffer.concat(out).equals(Buffer.alloc(200 * 64 * 1024, "a"))).toBe(true);
  });

  it("bytes after a response make the connection unusable before onComplete: a request dispatched from onComplete never reads them", async () => {
    const port = await rawServer((sock) =>
      sock.write(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nSet-Cookie: sid=attacker\r\nContent-Length: 9\r\n\r\nSMUGGLED!",
      ),
    );
    const { h1, unusable } = await connect(port);
    const first = collect();
    const second = collect();
    const complete = first.handler.onComplete!;
    first.handler.onComplete = (t) => {
      complete(t);
      h1.dispatch(GET, second.handler); // what the pool does for a waiting request
    };
    h1.dispatch(GET, first.handler);
    expect(await first.seen.done).toEqual({ kind: "complete" });
    expect(unusable).toEqual([false]);
    expect(await second.seen.done).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_RESET" });
    expect(second.seen.status).toBeUndefined();
  });

  it("no timeout while the handler holds the response back or the body is still uploading", async () => {
    const clock = new FakeClock(0);
    const port = await rawServer((sock) => {
      sock.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
      setTimeout(() => sock.write("cd"), 30);
    });
    const { h1 } = await connect(port, clock);
    const { handler, seen, release } = collectHeldBack();
    h1.dispatch({ ...GET, timeoutMs: 300 }, handler);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(1_000);
    expect(seen.status).toBe(200);
    release();
    expect(await seen.done).toEqual({ kind: "complete" });
    expect(Buffer.concat(seen.body).toString()).toBe("abcd");
    const port2 = await rawServer(() => {});
    const slow = await connect(port2, clock);
    const up = collect();
    const body = new Readable({ read() {} });
    slow.h1.dispatch(
      { method: "POST", path: "/", headers: ["content-length", "10"], body, timeoutMs: 300 },
      up.handler,
    );
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 20));
    let settled = false;
    void up.seen.done.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    body.push(null);
  });

  it("a control character in a response field, or a handler that throws, fails that request instead of the process", async () => {
    const port = await rawServer((sock) =>
      sock.write("HTTP/1.1 200 OK\r\nX-Debug: a\x01b\r\nContent-Length: 0\r\n\r\n"),
    );
    const a = await connect(port);
    expect((await send(a.h1)).out).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_PROTOCOL" });
    const okPort = await rawServer((sock) => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    const b = await connect(okPort);
    const { handler, seen } = collect();
    handler.onHeaders = () => {
      throw new Error("writeHead refused it");
    };
    b.h1.dispatch(GET, handler);
    expect(await seen.done).toMatchObject({ kind: "error", message: "writeHead refused it" });
  });

  it("a server that resets or closes an idle connection is reported as the peer's close", async () => {
    const port = await rawServer((sock) => sock.resetAndDestroy());
    const a = await connect(port);
    expect((await send(a.h1)).out).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_RESET" });
    expect(a.unusable).toEqual([true]);
    const idle = net.createServer((sock) => setTimeout(() => sock.end(), 20));
    await new Promise<void>((r) => idle.listen(0, "127.0.0.1", r));
    closers.push(() => idle.close());
    const b = await connect((idle.address() as net.AddressInfo).port);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.unusable).toEqual([true]);
  });
});

describe("h1 codec: second review (2026-12-02)", () => {
  it("a reset during a body read to the connection's end is an error, not a complete response", async () => {
    const port = await rawServer((sock) => {
      sock.write("HTTP/1.1 200 OK\r\n\r\npartial-bo");
      setTimeout(() => sock.resetAndDestroy(), 20);
    });
    const { h1, unusable } = await connect(port);
    const r = await send(h1);
    expect(r.out).toMatchObject({ kind: "error", code: "MESHTUNE_UPSTREAM_RESET" });
    expect(unusable).toEqual([true]);
  });

  it("an upstream that stops reading the request body times out; a closed connection leaves no timer behind", async () => {
    const clock = new FakeClock(0);
    const server = net.createServer((sock) => sock.pause());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.close());
    const { h1 } = await connect((server.address() as net.AddressInfo).port, clock);
    const big = Buffer.alloc(1024 * 1024, "b");
    const body = Readable.from(Array.from({ length: 32 }, () => big));
    const { handler, seen } = collect();
    h1.dispatch(
      { method: "POST", path: "/", headers: ["content-length", String(32 * big.length)], body, timeoutMs: 300 },
      handler,
    );
    await new Promise((r) => setTimeout(r, 200));
    clock.advance(300);
    clock.advance(300);
    expect(await seen.done).toMatchObject({ kind: "error", code: "MESHTUNE_HEADERS_TIMEOUT" });
    expect(clock.pending).toBe(0);
  });

  it("an exception in onComplete reaches onError once; bytes on an idle connection are the server's doing", async () => {
    const port = await rawServer((sock) => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    const { h1 } = await connect(port);
    const errors: string[] = [];
    const done = new Promise<void>((resolve) =>
      h1.dispatch(GET, {
        onComplete() {
          throw new Error("release failed");
        },
        onError(e) {
          errors.push(e.message);
          resolve();
        },
      }),
    );
    await done;
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual(["release failed"]);
    const idle = net.createServer((sock) => setTimeout(() => sock.write("HTTP/1.1 408 Request Timeout\r\n\r\n"), 20));
    await new Promise<void>((r) => idle.listen(0, "127.0.0.1", r));
    closers.push(() => idle.close());
    const b = await connect((idle.address() as net.AddressInfo).port);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.unusable).toEqual([true]);
  });
});

describe("h1 codec: any bytes from the server", () => {
  it("end every request exactly once (complete or error) and never throw, however they are split", async () => {
    // Pieces of real responses and of broken ones, shuffled and cut at random points.
    const piece = fc.constantFrom(
      "HTTP/1.1 200 OK\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.0 204 No Content\r\n",
      "Content-Length: 3\r\n",
      "Content-Length: x\r\n",
      "Transfer-Encoding: chunked\r\n",
      "Connection: close\r\n",
      " folded\r\n",
      "\r\n",
      "abc",
      "3\r\nabc\r\n",
      "0\r\n\r\n",
      "zz\r\n",
      "\x01\x00\xff",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 6 }),
        async (pieces, cuts) => {
          const wire = Buffer.from(pieces.join(""), "latin1");
          const server = net.createServer((sock) => {
            sock.on("error", () => {});
            sock.once("data", async () => {
              let at = 0;
              for (const c of cuts) {
                if (at >= wire.length) break;
                sock.write(wire.subarray(at, at + c));
                at += c;
                await new Promise((r) => setImmediate(r));
              }
              sock.end(wire.subarray(at));
            });
          });
          await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
          try {
            const { h1 } = await connect((server.address() as net.AddressInfo).port);
            const ends: string[] = [];
            await new Promise<void>((resolve) => {
              h1.dispatch(GET, {
                onComplete: () => {
                  ends.push("complete");
                  resolve();
                },
                onError: () => {
                  ends.push("error");
                  resolve();
                },
              });
            });
            await new Promise((r) => setTimeout(r, 5));
            expect(ends).toHaveLength(1);
          } finally {
            server.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);
});

describe("h1 parsers", () => {
  it("parseHead: status, reason, keep-alive by version and Connection, Content-Length lists", () => {
    const h = parseHead("HTTP/1.1 404 Not Found\r\nContent-Length: 5, 5\r\nConnection: keep-alive");
    expect(h).toMatchObject({
      ok: true,
      head: { status: 404, statusText: "Not Found", contentLength: 5, keepAlive: true },
    });
    expect(parseHead("HTTP/1.0 200 OK")).toMatchObject({ ok: true, head: { keepAlive: false } });
    expect(parseHead("HTTP/1.0 200 OK\r\nConnection: Keep-Alive")).toMatchObject({
      ok: true,
      head: { keepAlive: true },
    });
    expect(parseHead("HTTP/1.1 200\r\nTransfer-Encoding: gzip")).toMatchObject({
      ok: true,
      head: { chunked: false, contentLength: undefined, keepAlive: false },
    });
    expect(parseHead("HTTP/1.1 200 OK\r\nX: a\0b")).toMatchObject({ ok: false });
  });

  it("ChunkedDecoder: the same body however the bytes are split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        (chunks, cuts) => {
          const wire = Buffer.concat([
            ...chunks.map((c) =>
              Buffer.concat([Buffer.from(`${c.length.toString(16)};x=y\r\n`), c, Buffer.from("\r\n")]),
            ),
            Buffer.from("0\r\nTrailer: t\r\n\r\nNEXT"),
          ]);
          const d = new ChunkedDecoder();
          const out: Buffer[] = [];
          let at = 0;
          let rest: Buffer | undefined;
          for (const cut of [...cuts, wire.length]) {
            if (at >= wire.length) break;
            const r = d.push(wire.subarray(at, Math.min(wire.length, at + cut)), (c) => out.push(Buffer.from(c)));
            at += cut;
            expect(r.error).toBeUndefined();
            if (r.done) {
              rest = Buffer.concat([r.rest ?? Buffer.alloc(0), wire.subarray(Math.min(at, wire.length))]);
              break;
            }
          }
          expect(Buffer.concat(out)).toEqual(Buffer.concat(chunks.map((c) => Buffer.from(c))));
          expect(rest?.toString()).toBe("NEXT");
        },
      ),
      { numRuns: 300 },
    );
  });
});
