/**
 * The dispatch() relay (issue #15) end to end: request bodies stream upstream, large responses
 * come back whole through back-pressure, headers keep repeated fields and drop hop-by-hop ones.
 */
import http from "node:http";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { autoCleanup, client, proxyConfig, quiet, startProxy } from "./helpers.js";

const { track, upstream } = autoCleanup();

describe("relay over dispatch()", () => {
  it("streams a request body upstream and a 4 MiB response back, with headers relayed", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const port = await upstream((req, res) => {
      let n = 0;
      req.on("data", (c: Buffer) => {
        n += c.length;
      });
      req.on("end", () => {
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.setHeader("x-received", String(n));
        res.setHeader("x-seen-connection-token", String(req.headers["x-hop"] ?? "absent"));
        res.setHeader("keep-alive", "timeout=99");
        res.end(req.method === "POST" ? String(n) : big);
      });
    });
    const p = track(
      await startProxy(
        proxyConfig({ discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port }] }, ...quiet }),
      ),
    );
    const base = `http://127.0.0.1:${p.listenerAddress!.port}`;
    const body = Buffer.alloc(256 * 1024, 1);
    // node:http, not undici: undici refuses a Connection header that lists other fields.
    const post = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>(
      (resolve, reject) => {
        const r = http.request(
          `${base}/upload`,
          {
            method: "POST",
            headers: { host: "api.example.com", connection: "keep-alive, x-hop", "x-hop": "1" },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              text += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          },
        );
        r.on("error", reject);
        r.end(body);
      },
    );
    expect(post.status).toBe(200);
    expect(post.text).toBe(String(body.length));
    // Fields listed in Connection are hop-by-hop: not forwarded.
    expect(post.headers["x-seen-connection-token"]).toBe("absent");
    expect(post.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    // The upstream's Keep-Alive is hop-by-hop (node's own listener may add its own).
    expect(post.headers["keep-alive"]).not.toBe("timeout=99");

    const get = await request(`${base}/download`, { headers: { host: "api.example.com" }, dispatcher: client });
    expect(get.statusCode).toBe(200);
    // Read slowly for a while: the proxy pauses the upstream instead of buffering it all.
    let got = 0;
    for await (const chunk of get.body) {
      got += (chunk as Buffer).length;
      if (got < 512 * 1024) await new Promise((r) => setTimeout(r, 1));
    }
    expect(got).toBe(big.length);
  });
});
