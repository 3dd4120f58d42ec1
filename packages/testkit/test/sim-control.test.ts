import { SimEndpointStatusSchema } from "@meshtune/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../src/sim/simulator.js";
import { get, simConfig } from "./helpers.js";

let sim: Simulator;
let control: string;

beforeAll(async () => {
  sim = await startSimulator(
    simConfig([
      { name: "a", zone: "zone-a" },
      { name: "b", protocol: "https" },
    ]),
  );
  control = sim.controlUrl!;
});
afterAll(async () => {
  await sim.close();
});

async function call(method: string, path: string, body?: string) {
  const res = await fetch(`${control}${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & unknown[] };
}

describe("control API", () => {
  it("GET /health", async () => {
    expect(await call("GET", "/health")).toEqual({ status: 200, json: { status: "ok" } });
  });

  it("GET /endpoints lists name, url, port, protocol, zone, faults and stats (contract schema)", async () => {
    await get(`${sim.endpoint("a").url}/`);
    const { status, json } = await call("GET", "/endpoints");
    expect(status).toBe(200);
    const list = (json as unknown[]).map((e) => SimEndpointStatusSchema.parse(e));
    expect(list.map((e) => e.name)).toEqual(["a", "b"]);
    const a = list[0]!;
    expect(a).toMatchObject({
      url: sim.endpoint("a").url,
      port: sim.endpoint("a").port,
      protocol: "http1",
      zone: "zone-a",
    });
    expect(a.stats.requests).toBe(1);
    expect(list[1]!.url.startsWith("https://")).toBe(true);
  });

  it("PATCH /endpoints/:name/faults changes faults at run time", async () => {
    const r = await call("PATCH", "/endpoints/a/faults", JSON.stringify({ errorRate: 1, errorStatus: 429 }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: "a", faults: { errorRate: 1, errorStatus: 429, acceptDelayMs: 0 } });
    expect((await get(`${sim.endpoint("a").url}/`)).status).toBe(429);
    await call("PATCH", "/endpoints/a/faults", JSON.stringify({ errorRate: 0 }));
    expect((await get(`${sim.endpoint("a").url}/`)).status).toBe(200);
    expect(sim.endpoint("a").faults.errorStatus).toBe(429);
  });

  it("PATCH refuse over the API stops and restarts the listener", async () => {
    expect((await call("PATCH", "/endpoints/b/faults", '{"refuse":true}')).status).toBe(200);
    await expect(get(`${sim.endpoint("b").url}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await call("PATCH", "/endpoints/b/faults", '{"refuse":false}')).status).toBe(200);
    expect((await get(`${sim.endpoint("b").url}/`)).status).toBe(200);
  });

  it("rejects invalid bodies with 400 and path + reason", async () => {
    const bad = await call("PATCH", "/endpoints/a/faults", JSON.stringify({ errorRate: 2, bogus: true }));
    expect(bad.status).toBe(400);
    const issues = bad.json.issues as { path: string; message: string }[];
    expect(issues.map((i) => i.path).sort()).toEqual(["(root)", "errorRate"]);
    expect(issues.find((i) => i.path === "errorRate")!.message).toMatch(/1/);

    const latency = await call("PATCH", "/endpoints/a/faults", JSON.stringify({ latency: { dist: "fixed", ms: -1 } }));
    expect(latency.status).toBe(400);
    expect((latency.json.issues as { path: string }[])[0]!.path).toBe("latency.ms");

    const notJson = await call("PATCH", "/endpoints/a/faults", "{nope");
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toBe("invalid JSON");
    expect(sim.endpoint("a").faults.errorRate).toBe(0);
  });

  it("404 for unknown endpoints and routes", async () => {
    expect((await call("PATCH", "/endpoints/zzz/faults", "{}")).status).toBe(404);
    expect((await call("GET", "/nope")).status).toBe(404);
  });

  it("POST /endpoints/:name/reset-stats and /reset-stats", async () => {
    await get(`${sim.endpoint("a").url}/`);
    const r = await call("POST", "/endpoints/a/reset-stats");
    expect(r.status).toBe(200);
    expect((r.json.stats as { requests: number }).requests).toBe(0);
    expect(sim.endpoint("a").stats().requests).toBe(0);
    await get(`${sim.endpoint("b").url}/`);
    expect((await call("POST", "/reset-stats")).status).toBe(200);
    expect(sim.stats().b!.requests).toBe(0);
  });
});

describe("startSimulator", () => {
  it("rejects an invalid config with ConfigError issues", async () => {
    await expect(startSimulator(simConfig([{ name: "x" }, { name: "x", protocol: "h2" }]))).rejects.toMatchObject({
      name: "ConfigError",
      issues: [{ path: "endpoints", message: "endpoint names must be unique" }],
    });
  });

  it("fails cleanly (closing what started) when a port is taken", async () => {
    const taken = sim.endpoint("a").port;
    await expect(startSimulator(simConfig([{ name: "ok" }, { name: "clash", port: taken }]))).rejects.toThrow(
      /clash.*EADDRINUSE/,
    );
  });

  it("can start without the control API and with refuse set from the start", async () => {
    const s = await startSimulator(simConfig([{ name: "r", faults: { refuse: true } }]), { control: false });
    try {
      expect(s.controlUrl).toBeUndefined();
      const ep = s.endpoint("r");
      expect(ep.port).toBeGreaterThan(0);
      await expect(get(`${ep.url}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      await ep.setFaults({ refuse: false });
      expect((await get(`${ep.url}/`)).status).toBe(200);
      expect(() => s.endpoint("nope")).toThrow(/no endpoint/);
    } finally {
      await s.close();
    }
  });
});
