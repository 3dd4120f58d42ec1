/**
 * Regression tests for defects found in review (issue #4/#5 hardening): each reproduces the
 * user-visible failure against real sockets.
 */
import http from "node:http";
import { testCerts } from "@meshtune/testkit";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import {
  autoCleanup,
  client,
  countBy,
  eventually,
  get,
  proxyConfig,
  quiet,
  sim,
  startProxy,
  staticEndpoints,
} from "./helpers.js";

const { track, upstream } = autoCleanup();

describe("review regressions", () => {
  it("an upstream answering Connection: close never costs a request (no closing connection is reused)", async () => {
    const port = await upstream((_req, res) => {
      res.setHeader("connection", "close");
      res.end("ok");
    });
    const p = track(
      await startProxy(
        proxyConfig({ discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port }] }, ...quiet }),
      ),
    );
    const rs = await Promise.all(Array.from({ length: 100 }, () => get(p)));
    expect(rs.filter((r) => r.status !== 200)).toEqual([]);
  });

  it("maxRequestsPerConnection: 1 never hands out a retiring connection", async () => {
    const s = track(await sim([{ name: "a" }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          pool: { maxRequestsPerConnection: 1 },
          ...quiet,
        }),
      ),
    );
    const { statuses } = await countBy(p, 60);
    expect(statuses).toEqual({ 200: 60 });
  });

  it("clients that cancel mid-body do not eject a healthy endpoint", async () => {
    const s = track(await sim([{ name: "a", bodyBytes: 4 * 1024 * 1024 }, { name: "b" }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "round_robin" },
          outlier: { consecutiveLocalOriginFailures: 2, maxEjectionPercent: 50 },
          ...quiet,
        }),
      ),
    );
    for (let i = 0; i < 6; i++) {
      const ac = new AbortController();
      const res = await request(`http://127.0.0.1:${p.listenerAddress!.port}/`, {
        headers: { host: "api.example.com" },
        dispatcher: client,
        signal: ac.signal,
      });
      ac.abort();
      await res.body.dump().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 100));
    const a = p.findHost("api", "127.0.0.1", s.endpoint("a").port)!;
    expect(a.hasFlag("ejected_outlier")).toBe(false);
  });

  it("Expect: 100-continue is answered by the proxy and the request still reaches the upstream", async () => {
    let seen = "";
    const port = await upstream((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        seen = body;
        res.end("done");
      });
    });
    const p = track(
      await startProxy(
        proxyConfig({ discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port }] }, ...quiet }),
      ),
    );
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: p.listenerAddress!.port,
        method: "POST",
        headers: { host: "api.example.com", expect: "100-continue", "content-length": 5 },
      });
      req.on("continue", () => req.end("hello"));
      req.on("response", (r) => {
        let b = "";
        r.on("data", (d) => {
          b += d;
        });
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body: b }));
      });
      req.on("error", reject);
    });
    expect(res).toEqual({ status: 200, body: "done" });
    expect(seen).toBe("hello");
  });

  it("a 304 carrying Content-Length is relayed, not reset", async () => {
    const port = await upstream((_req, res) => {
      res.writeHead(304, { "content-length": "1234", etag: '"v1"' });
      res.end();
    });
    const p = track(
      await startProxy(
        proxyConfig({ discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port }] }, ...quiet }),
      ),
    );
    // node:http as the client: undici (like the proxy's upstream side) rejects this response.
    const r = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port: p.listenerAddress!.port, headers: { host: "api.example.com" } }, resolve)
        .on("error", reject),
    );
    r.resume();
    expect(r.statusCode).toBe(304);
    expect(r.headers.etag).toBe('"v1"');
  });

  it("an endpoint pushed at run time gets no request before its warm-up verdict", async () => {
    const s = track(await sim([{ name: "a" }, { name: "hang", faults: { blackHole: true } }]));
    const [ea, eh] = staticEndpoints(s);
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "pushed", initialEndpoints: [ea!] },
          lb: { policy: "round_robin" },
          pool: { connectTimeoutMs: 300 },
          healthCheck: { intervalMs: 60_000, timeoutMs: 300 },
          requestTimeoutMs: 2000,
        }),
      ),
    );
    const r = p.applyControl({
      apiVersion: "meshtune.io/v1alpha1",
      kind: "ControlSnapshot",
      version: 1,
      clusters: { api: { endpoints: [ea!, eh!] } },
    });
    expect(r.status).toBe("ACK");
    const { statuses, counts } = await countBy(p, 10);
    expect(statuses).toEqual({ 200: 10 });
    expect(counts).toEqual({ a: 10 });
    const hang = p.findHost("api", "127.0.0.1", s.endpoint("hang").port)!;
    await eventually(() => /warm-up failed/.test(hang.flagReason("failed_warmup") ?? ""));
  });

  it("an unreadable tls.caFile is a NACK that changes nothing", async () => {
    const s = track(await sim([{ name: "a" }]));
    const cfg = proxyConfig({ discovery: { type: "static", endpoints: staticEndpoints(s) }, ...quiet });
    const p = track(
      await startProxy(cfg, {
        readCa: (path) => {
          if (path === testCerts.caFile) return testCerts.caPem;
          throw new Error(`ENOENT: no such file, open '${path}'`);
        },
      }),
    );
    const bad = await p.applyConfig(2, {
      ...cfg,
      clusters: [{ ...cfg.clusters[0], lb: { policy: "random" }, tls: { enabled: true, caFile: "/nope/ca.pem" } }],
    });
    expect(bad).toMatchObject({ status: "NACK", reason: expect.stringMatching(/clusters\[0\]\.tls\.caFile: ENOENT/) });
    expect(p.clusters.get("api")!.lb.policy).toBe("least_request");
    expect(p.applied?.version).toBe(1);
    expect((await get(p)).status).toBe(200);
  });
});
