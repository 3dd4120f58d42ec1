import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCerts } from "../src/certs.js";
import { type Simulator, startSimulator } from "../src/sim/simulator.js";
import { get, simConfig, waitFor } from "./helpers.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator(
    simConfig([
      { name: "accept", faults: { acceptDelayMs: 120 } },
      { name: "tls-delay", protocol: "https", faults: { tlsDelayMs: 120 } },
      { name: "plain-tls-delay", faults: { tlsDelayMs: 500 } },
      { name: "hole" },
      { name: "hole-tls", protocol: "https" },
      { name: "hole-pending", faults: { latency: { dist: "fixed", ms: 100 } } },
      { name: "refuser" },
      { name: "errors", faults: { errorRate: 1, errorStatus: 502 } },
      { name: "resets", bodyBytes: 4096, faults: { resetRate: 1 } },
      { name: "resets-h2", protocol: "h2c", bodyBytes: 4096, faults: { resetRate: 1 } },
      { name: "health", healthPath: "/healthz" },
      { name: "slow", faults: { latency: { dist: "fixed", ms: 50 } } },
      { name: "slow-body", bodyBytes: 400, faults: { slowBodyBytesPerSec: 4000 } },
      { name: "patchy" },
    ]),
  );
});
afterAll(async () => {
  await sim.close();
});

function connectOnly(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.on("error", reject);
  });
}

describe("connection faults", () => {
  it("acceptDelayMs delays a fresh connection's first response, not a reused one", async () => {
    const url = `${sim.endpoint("accept").url}/`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(url, { agent });
      expect(first.ms).toBeGreaterThanOrEqual(115);
      const reused = await get(url, { agent });
      expect(reused.headers["x-sim-connection-id"]).toBe(first.headers["x-sim-connection-id"]);
      expect(reused.ms).toBeLessThan(100);
    } finally {
      agent.destroy();
    }
  });

  it("tlsDelayMs delays the TLS handshake", async () => {
    const ep = sim.endpoint("tls-delay");
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: ep.port, ca: testCerts.caPem }, () => {
        s.end();
        resolve();
      });
      s.on("error", reject);
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    const r = await get(`${ep.url}/`);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(115);
  });

  it("tlsDelayMs does nothing on a plain endpoint", async () => {
    const r = await get(`${sim.endpoint("plain-tls-delay").url}/`);
    expect(r.ms).toBeLessThan(400);
  });

  it("blackHole: TCP connects but the request times out; open connections hang too; clearing it recovers", async () => {
    const ep = sim.endpoint("hole");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(`${ep.url}/`, { agent });
      expect(before.status).toBe(200);
      await ep.setFaults({ blackHole: true });
      // The existing keep-alive connection hangs...
      await expect(get(`${ep.url}/`, { agent, timeoutMs: 150 })).rejects.toMatchObject({ code: "CLIENT_TIMEOUT" });
      // ...and a new connection is accepted by the kernel but never answered.
      const sock = await connectOnly(ep.port);
      sock.destroy();
      await expect(get(`${ep.url}/`, { timeoutMs: 150 })).rejects.toMatchObject({ code: "CLIENT_TIMEOUT" });
      expect(ep.stats().blackHoled).toBeGreaterThanOrEqual(1);
      await ep.setFaults({ blackHole: false });
      expect((await get(`${ep.url}/`)).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it("blackHole also swallows answers that were still pending", async () => {
    const ep = sim.endpoint("hole-pending");
    const pending = get(`${ep.url}/`, { timeoutMs: 250 });
    await waitFor(() => ep.stats().requests === 1);
    await ep.setFaults({ blackHole: true });
    await expect(pending).rejects.toMatchObject({ code: "CLIENT_TIMEOUT" });
    expect(ep.stats().blackHoled).toBe(1);
  });

  it("blackHole on TLS: the handshake never completes", async () => {
    const ep = sim.endpoint("hole-tls");
    await ep.setFaults({ blackHole: true });
    await expect(get(`${ep.url}/`, { timeoutMs: 150 })).rejects.toMatchObject({ code: "CLIENT_TIMEOUT" });
    expect(ep.stats().tlsHandshakes).toBe(0);
    expect(ep.stats().connectionsAccepted).toBe(1);
  });

  it("refuse: ECONNREFUSED, then listens again on the same port", async () => {
    const ep = sim.endpoint("refuser");
    const port = ep.port;
    await ep.setFaults({ refuse: true });
    expect(ep.listening).toBe(false);
    await expect(get(`${ep.url}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await ep.setFaults({ refuse: false });
    expect(ep.listening).toBe(true);
    expect(ep.port).toBe(port);
    expect((await get(`${ep.url}/`)).status).toBe(200);
  });

  it("refuse keeps already-open connections", async () => {
    const ep = sim.endpoint("refuser");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await get(`${ep.url}/`, { agent });
      await ep.setFaults({ refuse: true });
      const b = await get(`${ep.url}/`, { agent });
      expect(b.headers["x-sim-connection-id"]).toBe(a.headers["x-sim-connection-id"]);
    } finally {
      agent.destroy();
      await ep.setFaults({ refuse: false });
    }
  });

  it("quick refuse toggles apply in order", async () => {
    const ep = sim.endpoint("refuser");
    await Promise.all([
      ep.setFaults({ refuse: true }),
      ep.setFaults({ refuse: false }),
      ep.setFaults({ refuse: true }),
      ep.setFaults({ refuse: false }),
    ]);
    expect(ep.listening).toBe(true);
    expect((await get(`${ep.url}/`)).status).toBe(200);
  });
});

describe("request faults", () => {
  it("errorRate 1 answers errorStatus and counts it", async () => {
    const ep = sim.endpoint("errors");
    const r = await get(`${ep.url}/`);
    expect(r.status).toBe(502);
    expect(r.headers["x-sim-endpoint"]).toBe("errors");
    expect(ep.stats().statuses).toEqual({ "502": 1 });
  });

  it("resetRate 1 destroys the HTTP/1.1 socket mid-body", async () => {
    const ep = sim.endpoint("resets");
    await expect(get(`${ep.url}/`)).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(ep.stats().resets).toBe(1);
  });

  it("resetRate 1 resets the HTTP/2 stream mid-body", async () => {
    const ep = sim.endpoint("resets-h2");
    const session = http2.connect(ep.url);
    try {
      const outcome = await new Promise<{ bytes: number; code: number | undefined }>((resolve) => {
        const s = session.request({ ":path": "/" });
        let bytes = 0;
        s.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        s.on("error", () => {});
        s.on("close", () => resolve({ bytes, code: s.rstCode }));
        s.end();
      });
      expect(outcome.code).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
      expect(outcome.bytes).toBeLessThan(4096);
      expect(ep.stats().resets).toBe(1);
    } finally {
      session.destroy();
    }
  });

  it("fixed latency of 50 ms is measured as >= 50 ms", async () => {
    const r = await get(`${sim.endpoint("slow").url}/`);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(49.5);
    expect(r.headers["x-sim-latency-ms"]).toBe("50.000");
  });

  it("slowBodyBytesPerSec paces the body", async () => {
    const r = await get(`${sim.endpoint("slow-body").url}/`);
    expect(r.body.length).toBe(400);
    // 400 bytes at 4000 B/s: the last byte arrives ~100 ms after the headers.
    expect(r.ms).toBeGreaterThanOrEqual(95);
  });
});

describe("health endpoint", () => {
  it("is independent of traffic faults", async () => {
    const ep = sim.endpoint("health");
    await ep.setFaults({ errorRate: 1, errorStatus: 500, latency: { dist: "fixed", ms: 300 }, resetRate: 1 });
    const h = await get(`${ep.url}/healthz`);
    expect(h.status).toBe(200);
    expect(h.ms).toBeLessThan(250);
    expect(JSON.parse(h.body.toString())).toMatchObject({ status: "ok", endpoint: "health" });

    await ep.setFaults({ errorRate: 0, latency: { dist: "fixed", ms: 0 }, resetRate: 0, health: { status: 503 } });
    expect((await get(`${ep.url}/healthz`)).status).toBe(503);
    expect((await get(`${ep.url}/`)).status).toBe(200);

    await ep.setFaults({ health: { delayMs: 100 } });
    const slow = await get(`${ep.url}/healthz`);
    expect(slow.status).toBe(503); // status kept: health patches merge field by field
    expect(slow.ms).toBeGreaterThanOrEqual(95);
    const s = ep.stats();
    expect(s.healthChecks).toBe(3);
    expect(s.requests).toBe(1);
  });
});

describe("setFaults", () => {
  it("keeps fields the patch leaves out and rejects invalid patches", async () => {
    const ep = sim.endpoint("patchy");
    await ep.setFaults({ errorRate: 0.5, errorStatus: 504 });
    const f = await ep.setFaults({ acceptDelayMs: 1 });
    expect(f).toMatchObject({ errorRate: 0.5, errorStatus: 504, acceptDelayMs: 1 });
    await expect(ep.setFaults({ errorRate: 2 })).rejects.toThrow(/errorRate/);
    expect(ep.faults.errorRate).toBe(0.5);
    const reset = await ep.resetFaults();
    expect(reset.errorRate).toBe(0);
    expect(reset.acceptDelayMs).toBe(0);
  });

  it("stats count open connections going away", async () => {
    const ep = sim.endpoint("patchy");
    ep.resetStats();
    const s = await connectOnly(ep.port);
    expect(await waitFor(() => ep.stats().connectionsOpen === 1)).toBe(true);
    s.destroy();
    expect(await waitFor(() => ep.stats().connectionsOpen === 0)).toBe(true);
    expect(ep.stats().connectionsAccepted).toBe(1);
  });
});
