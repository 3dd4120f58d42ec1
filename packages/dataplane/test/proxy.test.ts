/**
 * The proxy against real sockets from the project's own upstream simulator: routing,
 * balancing per policy, warm-up, health checks, outlier detection, errors, retries,
 * circuit breakers, config updates and drain.
 */
import net from "node:net";
import { testCerts } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import {
  admin,
  autoCleanup,
  countBy,
  eventually,
  get,
  header,
  proxyConfig,
  sim,
  startProxy,
  staticEndpoints,
} from "./helpers.js";

const { track, defer } = autoCleanup();

const three = () => [{ name: "a" }, { name: "b" }, { name: "c" }];
const fast = { healthCheck: { intervalMs: 60_000, timeoutMs: 500 } };

describe("load-balancing policies over real sockets", () => {
  const table = [
    { policy: "round_robin", check: (c: Record<string, number>) => Object.values(c).every((n) => n === 20) },
    { policy: "weighted_round_robin", check: (c: Record<string, number>) => Object.values(c).every((n) => n === 20) },
    { policy: "least_request", check: (c: Record<string, number>) => Object.keys(c).length === 3 },
    { policy: "random", check: (c: Record<string, number>) => Object.keys(c).length === 3 },
    { policy: "ring_hash", check: (c: Record<string, number>) => Object.keys(c).length === 1 },
  ] as const;
  for (const t of table) {
    it(`${t.policy} spreads 60 requests as the policy says`, async () => {
      const s = track(await sim(three()));
      const p = track(
        await startProxy(
          proxyConfig({
            discovery: { type: "static", endpoints: staticEndpoints(s) },
            lb: { policy: t.policy },
            ...fast,
          }),
        ),
      );
      const { counts, statuses } = await countBy(p, 60, { "x-user-id": "user-42" });
      expect(statuses[200]).toBe(60);
      expect(t.check(counts), JSON.stringify(counts)).toBe(true);
    });
  }

  it("weighted round robin follows weights 3:1", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }]));
    const [ea, eb] = staticEndpoints(s);
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: {
            type: "static",
            endpoints: [
              { ...ea!, weight: 3 },
              { ...eb!, weight: 1 },
            ],
          },
          lb: { policy: "weighted_round_robin" },
          ...fast,
        }),
      ),
    );
    const { counts } = await countBy(p, 40);
    expect(counts).toEqual({ a: 30, b: 10 });
  });
});

describe("warm-up", () => {
  it("holds minWarm health-checked connections per endpoint before the first request, and the first request reuses one", async () => {
    const s = track(await sim(three()));
    const p = track(
      await startProxy(
        proxyConfig({ discovery: { type: "static", endpoints: staticEndpoints(s) }, pool: { minWarm: 3 }, ...fast }),
      ),
    );
    expect(p.ready).toBe(true);
    for (const e of s.endpoints) {
      const st = e.stats();
      expect(st.connectionsAccepted).toBe(3);
      expect(st.healthChecks).toBe(3);
      expect(st.requests).toBe(0);
    }
    const { json } = await admin(p, "/clusters");
    const eps = (json.clusters as { endpoints: { pool: { idle: number } }[] }[])[0]!.endpoints;
    expect(eps.map((e) => e.pool.idle)).toEqual([3, 3, 3]);
    expect(await admin(p, "/live")).toEqual({ status: 200, json: { live: true } });
    expect(await admin(p, "/ready")).toEqual({ status: 200, json: { ready: true } });
    expect((await admin(p, "/config")).json).toMatchObject({ version: 1, source: "test" });
    expect((await admin(p, "/nope")).status).toBe(404);
    const r = await get(p);
    expect(r.status).toBe(200);
    // Served on a warm connection: no endpoint accepted a fourth connection.
    expect(s.endpoints.reduce((n, e) => n + e.stats().connectionsAccepted, 0)).toBe(9);
  });

  it("an endpoint that fails warm-up is taken out before the first real request", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }, { name: "dead", faults: { blackHole: true } }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "round_robin" },
          pool: { connectTimeoutMs: 200, minWarm: 1 },
          warmup: { deadlineMs: 2000 },
          ...fast,
        }),
      ),
    );
    const dead = p.findHost("api", "127.0.0.1", s.endpoint("dead").port)!;
    expect(dead.hasFlag("failed_warmup")).toBe(true);
    expect(dead.flagReason("failed_warmup")).toMatch(/timeout/);
    const { counts, statuses } = await countBy(p, 30);
    expect(statuses[200]).toBe(30);
    expect(counts.dead).toBeUndefined();
  });

  it("a failed health check on the warm connection keeps the endpoint out", async () => {
    const s = track(await sim([{ name: "a" }, { name: "sick", faults: { health: { status: 500 } } }]));
    const p = track(
      await startProxy(proxyConfig({ discovery: { type: "static", endpoints: staticEndpoints(s) }, ...fast })),
    );
    const sick = p.findHost("api", "127.0.0.1", s.endpoint("sick").port)!;
    expect(sick.flagReason("failed_warmup")).toMatch(/health check: unexpected status 500/);
    const { counts } = await countBy(p, 10);
    expect(counts).toEqual({ a: 10 });
  });
});

describe("client-facing errors", () => {
  it("503 no_healthy_upstream when every endpoint is out", async () => {
    const s = track(await sim([{ name: "a", faults: { health: { status: 503 } } }]));
    const p = track(
      await startProxy(proxyConfig({ discovery: { type: "static", endpoints: staticEndpoints(s) }, ...fast })),
    );
    const r = await get(p);
    expect(r.status).toBe(503);
    expect(header(r.headers, "x-meshtune-error")).toBe("no_healthy_upstream");
  });

  it("504 upstream_timeout, 404 no_route, 400 for a malformed request; a reset mid-body resets the client", async () => {
    const s = track(
      await sim([
        { name: "slow", faults: { latency: { dist: "fixed", ms: 2000 } } },
        { name: "reset", bodyBytes: 4096, faults: { resetRate: 1 } },
      ]),
    );
    const [slow, reset] = staticEndpoints(s);
    const p = track(
      await startProxy(
        proxyConfig(
          {
            discovery: { type: "static", endpoints: [slow!] },
            requestTimeoutMs: 200,
            retry: { maxRetries: 0 },
            ...fast,
          },
          {
            routes: [
              { match: { host: "api.example.com" }, cluster: "api" },
              { match: { host: "reset.example.com" }, cluster: "reset" },
            ],
            clusters: [
              {
                name: "reset",
                discovery: { type: "static", endpoints: [reset!] },
                retry: { maxRetries: 0 },
                warmup: { healthCheckOnConnection: false },
                ...fast,
              },
            ],
          },
        ),
      ),
    );
    const t = await get(p);
    expect(t.status).toBe(504);
    expect(header(t.headers, "x-meshtune-error")).toBe("upstream_timeout");
    // Headers were already relayed when the upstream died: the honest signal is a client reset.
    await expect(get(p, "/", { host: "reset.example.com" })).rejects.toThrow();
    const n = await get(p, "/", { host: "nowhere.example.com" });
    expect(n.status).toBe(404);
    expect(header(n.headers, "x-meshtune-error")).toBe("no_route");

    const raw = await rawRequest(p.listenerAddress!.port, "GARBAGE / HTTP/1.1\r\nhost x\r\n\r\n");
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    expect(raw).toMatch(/x-meshtune-error: bad_request/);
    // The proxy survived all of it.
    expect((await get(p, "/", { host: "nowhere.example.com" })).status).toBe(404);
  });

  it("502 when the upstream closes before answering or speaks garbage, and the proxy keeps serving", async () => {
    // Protocol-level misbehaviour the simulator does not model: raw TCP peers.
    const sockets = new Set<net.Socket>();
    const keep = (sock: net.Socket) => sockets.add(sock).size;
    const closer = net.createServer((sock) => keep(sock) && sock.once("data", () => sock.destroy()));
    const garbage = net.createServer(
      (sock) => keep(sock) && sock.once("data", () => sock.end("NOT HTTP AT ALL\r\n\r\n")),
    );
    await Promise.all([closer, garbage].map((srv) => new Promise<void>((r) => srv.listen(0, "127.0.0.1", r))));
    defer(() => {
      for (const sock of sockets) sock.destroy();
      return Promise.all([closer, garbage].map((srv) => new Promise((r) => srv.close(r))));
    });
    const port = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
    const noWarm = { warmup: { enabled: false }, healthCheck: { enabled: false }, retry: { maxRetries: 0 } };
    const p = track(
      await startProxy(
        proxyConfig(
          { discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: port(closer) }] }, ...noWarm },
          {
            routes: [
              { match: { host: "api.example.com" }, cluster: "api" },
              { match: { host: "garbage.example.com" }, cluster: "garbage" },
            ],
            clusters: [
              {
                name: "garbage",
                discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: port(garbage) }] },
                ...noWarm,
              },
            ],
          },
        ),
      ),
    );
    const r = await get(p);
    expect(r.status).toBe(502);
    expect(header(r.headers, "x-meshtune-error")).toBe("upstream_reset");
    const g = await get(p, "/", { host: "garbage.example.com" });
    expect(g.status).toBe(502);
    expect(header(g.headers, "x-meshtune-error")).toBe("upstream_protocol_error");
    expect((await get(p)).status).toBe(502);
  });

  it("retries an idempotent request onto another endpoint after a connect failure", async () => {
    const s = track(await sim([{ name: "good" }, { name: "bad", faults: { refuse: true } }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "round_robin" },
          retry: { maxRetries: 1, retryOn: ["connect-failure"] },
          outlier: { consecutiveLocalOriginFailures: 0 },
          // Lazy pools, so that the refused endpoint is only discovered by real requests.
          warmup: { enabled: false },
          healthCheck: { enabled: false },
        }),
      ),
    );
    const { statuses, counts } = await countBy(p, 10);
    expect(statuses).toEqual({ 200: 10 });
    expect(counts).toEqual({ good: 10 });
  });

  it("answers 503 pool_overflow when the circuit breaker is full", async () => {
    const s = track(await sim([{ name: "a", faults: { latency: { dist: "fixed", ms: 300 } } }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          pool: { maxConnections: 1, maxPendingRequests: 0, minWarm: 1 },
          ...fast,
        }),
      ),
    );
    const rs = await Promise.all([get(p), get(p), get(p)]);
    const codes = rs.map((r) => `${r.status}:${header(r.headers, "x-meshtune-error") ?? ""}`).sort();
    expect(codes).toEqual(["200:", "503:pool_overflow", "503:pool_overflow"]);
  });
});

describe("health checks and outlier detection", () => {
  it("active health checks flag an endpoint after unhealthyThreshold failures and clear it after recovery", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          healthCheck: { intervalMs: 100, timeoutMs: 50, unhealthyThreshold: 2, healthyThreshold: 1 },
        }),
      ),
    );
    const b = p.findHost("api", "127.0.0.1", s.endpoint("b").port)!;
    s.endpoint("b").setFaults({ health: { status: 500 } });
    await eventually(() => b.hasFlag("failed_active_hc"));
    const { counts } = await countBy(p, 10);
    expect(counts).toEqual({ a: 10 });
    s.endpoint("b").setFaults({ health: { status: 200 } });
    await eventually(() => !b.hasFlag("failed_active_hc"));
  });

  it("consecutive 5xx eject an endpoint", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }, { name: "c" }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          lb: { policy: "round_robin" },
          outlier: { consecutive5xx: 3, maxEjectionPercent: 50 },
          retry: { maxRetries: 0 },
          ...fast,
        }),
      ),
    );
    s.endpoint("c").setFaults({ errorRate: 1, errorStatus: 500 });
    await countBy(p, 12);
    const c = p.findHost("api", "127.0.0.1", s.endpoint("c").port)!;
    expect(c.hasFlag("ejected_outlier")).toBe(true);
    const { counts } = await countBy(p, 10);
    expect(counts.c).toBeUndefined();
  });
});

describe("TLS and HTTP/2 upstreams", () => {
  it("forwards over h2 with ALPN, SNI and CA verification; TLS sessions resume", async () => {
    const s = track(
      await sim([
        { name: "h2", protocol: "h2" },
        { name: "tls1", protocol: "https" },
      ]),
    );
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s).map((e) => ({ ...e, sni: "localhost" })) },
          tls: { enabled: true, caFile: testCerts.caFile, alpn: ["h2", "http/1.1"] },
          lb: { policy: "round_robin" },
          pool: { minWarm: 2 },
          ...fast,
        }),
        { readCa: () => testCerts.caPem },
      ),
    );
    const { counts, statuses } = await countBy(p, 10);
    expect(statuses[200]).toBe(10);
    expect(counts).toEqual({ h2: 5, tls1: 5 });
    const h2 = p.clusters.get("api")!.pool(p.findHost("api", "127.0.0.1", s.endpoint("h2").port)!)!;
    expect(h2.describe().every((c) => c.protocol === "h2")).toBe(true);
    const tls1 = p.clusters.get("api")!.pool(p.findHost("api", "127.0.0.1", s.endpoint("tls1").port)!)!;
    expect(tls1.describe().every((c) => c.protocol === "h1")).toBe(true);
  });
});

describe("configuration updates", () => {
  it("NACKs an invalid or stale update and keeps the last good config", async () => {
    const s = track(await sim([{ name: "a" }]));
    const cfg = proxyConfig({ discovery: { type: "static", endpoints: staticEndpoints(s) }, ...fast });
    const p = track(await startProxy(cfg));
    const bad = await p.applyConfig(2, {
      ...cfg,
      clusters: [{ ...cfg.clusters[0], pool: { minWarm: 9, maxConnections: 2 } }],
    });
    expect(bad.status).toBe("NACK");
    expect(bad.status === "NACK" && bad.reason).toMatch(
      /clusters\[0\]\.pool\.minWarm: minWarm \(9\) exceeds maxConnections \(2\)/,
    );
    const stale = await p.applyConfig(1, cfg);
    expect(stale).toMatchObject({ status: "NACK", reason: expect.stringMatching(/stale/) });
    expect(p.applied?.version).toBe(1);
    expect((await get(p)).status).toBe(200);
    const ok = await p.applyConfig(3, { ...cfg, clusters: [{ ...cfg.clusters[0], lb: { policy: "random" } }] });
    expect(ok).toEqual({ status: "ACK", version: 3 });
    expect(p.clusters.get("api")!.lb.policy).toBe("random");
  });

  it("pushed endpoints: a removed endpoint drains (in-flight finishes) and gets no new requests", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b", faults: { latency: { dist: "fixed", ms: 300 } } }]));
    const [ea, eb] = staticEndpoints(s);
    const p = track(await startProxy(proxyConfig({ discovery: { type: "pushed", initialEndpoints: [eb!] }, ...fast })));
    const inflight = get(p);
    await eventually(() => p.inFlight === 1);
    const r = p.applyControl({
      apiVersion: "meshtune.io/v1alpha1",
      kind: "ControlSnapshot",
      version: 1,
      clusters: { api: { endpoints: [ea!], endpointOverrides: {} } },
    });
    expect(r.status).toBe("ACK");
    const done = await inflight;
    expect(done.status).toBe(200);
    expect(header(done.headers, "x-sim-endpoint")).toBe("b");
    const { counts } = await countBy(p, 5);
    expect(counts).toEqual({ a: 5 });
    await eventually(() => s.endpoint("b").stats().connectionsOpen === 0);
  });
});

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let data = "";
    sock.on("data", (d) => {
      data += d.toString();
    });
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
    sock.write(text);
  });
}
