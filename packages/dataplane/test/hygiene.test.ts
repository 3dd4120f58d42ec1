/**
 * What applications send (issue #15): absolute-form targets as HTTP_PROXY clients send them,
 * CONNECT, oversized header blocks and slow clients, over raw sockets against the listener.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { parseTarget } from "../src/proxy/target.js";
import { autoCleanup, proxyConfig, sim, startProxy, staticEndpoints } from "./helpers.js";

const { track } = autoCleanup();
const quiet = { healthCheck: { enabled: false } };

/** Sends raw bytes, returns everything the proxy wrote until it closed (or `waitMs` passed). */
function raw(port: number, text: string, waitMs = 3_000): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect(port, "127.0.0.1", () => s.write(text));
    let data = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      data += d;
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, closedAfterMs: Number.POSITIVE_INFINITY });
    }, waitMs);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ data, closedAfterMs: performance.now() - t0 });
    });
    s.on("error", reject);
  });
}

describe("request targets", () => {
  it.each([
    ["/a?b=1", { ok: true, path: "/a?b=1" }],
    ["http://api.example.com/a?b=1", { ok: true, path: "/a?b=1", authority: "api.example.com" }],
    ["http://api.example.com:8080", { ok: true, path: "/", authority: "api.example.com:8080" }],
    ["HTTP://h/x#frag", { ok: true, path: "/x", authority: "h" }],
    ["http://h?q=1", { ok: true, path: "/?q=1", authority: "h" }],
  ])("%s", (url, want) => {
    expect(parseTarget(url)).toEqual(want);
  });
  it.each(["api.example.com:443", "*", "ftp://h/x", "http:///x", "http://u@h/x"])("refuses %s", (url) => {
    expect(parseTarget(url).ok).toBe(false);
  });
});

describe("listener hygiene", () => {
  async function setup(proxy: Record<string, unknown> = {}) {
    const s = track(await sim([{ name: "a" }]));
    const p = track(
      await startProxy(
        proxyConfig(
          { discovery: { type: "static", endpoints: staticEndpoints(s) }, ...quiet },
          { routes: [{ match: { host: "api.example.com" }, cluster: "api" }], proxy },
        ),
      ),
    );
    return p.listenerAddress!.port;
  }

  it("routes an absolute-form request by its authority, like origin-form", async () => {
    const port = await setup();
    const r = await raw(
      port,
      "GET http://api.example.com/hello HTTP/1.1\r\nhost: api.example.com\r\nconnection: close\r\n\r\n",
    );
    expect(r.data).toMatch(/^HTTP\/1\.1 200/);
    expect(r.data.toLowerCase()).toContain("x-sim-endpoint: a");
    // The authority wins over a Host field that names something else (RFC 9112 §3.2.2).
    const other = await raw(
      port,
      "GET http://api.example.com/hello HTTP/1.1\r\nhost: elsewhere.example\r\nconnection: close\r\n\r\n",
    );
    expect(other.data).toMatch(/^HTTP\/1\.1 200/);
  });

  it("answers CONNECT with 405 and a clear cause", async () => {
    const port = await setup();
    const r = await raw(port, "CONNECT api.example.com:443 HTTP/1.1\r\nhost: api.example.com:443\r\n\r\n");
    expect(r.data).toMatch(/^HTTP\/1\.1 405/);
    expect(r.data).toContain("x-meshtune-error: method_not_allowed");
    expect(r.data).toContain("tunnels are not offered");
  });

  it("answers 431 for a header block over proxy.maxHeaderBytes", async () => {
    const port = await setup({ maxHeaderBytes: 2048 });
    const r = await raw(port, `GET / HTTP/1.1\r\nhost: api.example.com\r\nx-big: ${"a".repeat(4096)}\r\n\r\n`);
    expect(r.data).toMatch(/^HTTP\/1\.1 431/);
    expect(r.data).toContain("x-meshtune-error: headers_too_large");
  });

  it("closes a slowloris connection after proxy.headersTimeoutMs", async () => {
    const port = await setup({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    // Half a header block, never finished.
    const r = await raw(port, "GET / HTTP/1.1\r\nhost: api.example.com\r\nx-slow: 1\r\n", 5_000);
    expect(r.closedAfterMs).toBeLessThan(3_000);
    expect(r.data).toMatch(/^HTTP\/1\.1 408/);
  });
});
