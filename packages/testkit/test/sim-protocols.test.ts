import { X509Certificate } from "node:crypto";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCerts } from "../src/certs.js";
import { type Simulator, startSimulator } from "../src/sim/simulator.js";
import { get, h2get, simConfig, waitFor } from "./helpers.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator(
    simConfig([
      { name: "plain", protocol: "http1", zone: "zone-a", bodyBytes: 100 },
      { name: "cleartext-h2", protocol: "h2c", bodyBytes: 10 },
      { name: "tls", protocol: "https", zone: "zone-b" },
      { name: "tls-h2", protocol: "h2" },
      { name: "v6", protocol: "https", host: "::1" },
    ]),
  );
});
afterAll(async () => {
  await sim.close();
});

describe("protocols", () => {
  it("http1 answers 200 with bodyBytes and sim headers", async () => {
    const r = await get(`${sim.endpoint("plain").url}/anything`);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(100);
    expect(r.headers["x-sim-endpoint"]).toBe("plain");
    expect(r.headers["x-sim-zone"]).toBe("zone-a");
    expect(r.headers["x-sim-http-version"]).toBe("1.1");
    expect(Number(r.headers["x-sim-connection-id"])).toBeGreaterThan(0);
    expect(r.headers["x-sim-request-count-on-connection"]).toBe("1");
  });

  it("h2c answers over HTTP/2 prior knowledge", async () => {
    const r = await h2get(`${sim.endpoint("cleartext-h2").url}/x`);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(10);
    expect(r.headers["x-sim-http-version"]).toBe("2.0");
    expect(r.headers["x-sim-zone"]).toBeUndefined();
  });

  it("https answers HTTP/1.1 with a cert the test CA verifies, and offers only http/1.1", async () => {
    const ep = sim.endpoint("tls");
    expect(ep.url.startsWith("https://127.0.0.1:")).toBe(true);
    const r = await get(`${ep.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers["x-sim-endpoint"]).toBe("tls");
    const alpn = await new Promise<string | false>((resolve, reject) => {
      const s = tls.connect(
        { host: "127.0.0.1", port: ep.port, ca: testCerts.caPem, ALPNProtocols: ["h2", "http/1.1"] },
        () => {
          resolve(s.alpnProtocol ?? false);
          // end(), not destroy(): the TLS 1.3 client Finished must reach the server.
          s.end();
        },
      );
      s.on("error", reject);
    });
    expect(alpn).toBe("http/1.1");
    expect(await waitFor(() => ep.stats().tlsHandshakes >= 2)).toBe(true);
  });

  it("https verification fails without the test CA", async () => {
    const ep = sim.endpoint("tls");
    await expect(
      new Promise((resolve, reject) => {
        https.get(`${ep.url}/`, { agent: false }, resolve).on("error", reject);
      }),
    ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it("h2 negotiates h2 by ALPN and still serves HTTP/1.1 clients", async () => {
    const ep = sim.endpoint("tls-h2");
    const r2 = await h2get(`${ep.url}/`);
    expect(r2.status).toBe(200);
    expect(r2.alpn).toBe("h2");
    expect(r2.headers["x-sim-http-version"]).toBe("2.0");
    const r1 = await get(`${ep.url}/`);
    expect(r1.status).toBe(200);
    expect(r1.headers["x-sim-http-version"]).toBe("1.1");
  });

  it("https on ::1 verifies (the test cert covers localhost, 127.0.0.1 and ::1)", async () => {
    const ep = sim.endpoint("v6");
    expect(ep.url).toMatch(/^https:\/\/\[::1\]:\d+$/);
    const r = await get(`${ep.url}/`);
    expect(r.status).toBe(200);
    const names = new X509Certificate(testCerts.certPem).subjectAltName ?? "";
    expect(names).toContain("DNS:localhost");
    expect(names).toContain("IP Address:127.0.0.1");
    expect(names).toMatch(/IP Address:(::1|0:0:0:0:0:0:0:1)/);
  });
});

describe("connection identity", () => {
  it("x-sim-connection-id is stable on a reused connection and differs on a new one", async () => {
    const url = `${sim.endpoint("plain").url}/`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await get(url, { agent });
      const b = await get(url, { agent });
      expect(b.headers["x-sim-connection-id"]).toBe(a.headers["x-sim-connection-id"]);
      expect(a.headers["x-sim-request-count-on-connection"]).toBe("1");
      expect(b.headers["x-sim-request-count-on-connection"]).toBe("2");
      const c = await get(url);
      expect(c.headers["x-sim-connection-id"]).not.toBe(a.headers["x-sim-connection-id"]);
    } finally {
      agent.destroy();
    }
  });

  it("counts connections accepted and open", async () => {
    const ep = sim.endpoint("plain");
    ep.resetStats();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      await Promise.all([get(`${ep.url}/`, { agent }), get(`${ep.url}/`, { agent })]);
      const s = ep.stats();
      expect(s.connectionsAccepted).toBe(2);
      expect(s.connectionsOpen).toBeGreaterThanOrEqual(2);
      expect(s.requests).toBe(2);
      expect(s.statuses).toEqual({ "200": 2 });
    } finally {
      agent.destroy();
    }
  });

  it("query and header overrides apply to one request", async () => {
    const url = sim.endpoint("plain").url;
    const a = await get(`${url}/?status=500&bytes=7`);
    expect(a.status).toBe(500);
    expect(a.body.length).toBe(7);
    const b = await get(`${url}/`, { headers: { "x-sim-status": "418", "x-sim-bytes": "3" } });
    expect(b.status).toBe(418);
    expect(b.body.length).toBe(3);
    const c = await get(`${url}/?latencyMs=40`);
    expect(c.ms).toBeGreaterThanOrEqual(39);
    expect(c.headers["x-sim-latency-ms"]).toBe("40.000");
  });
});
