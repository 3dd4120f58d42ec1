/**
 * The request path is warmed through the proxy's own listener before /ready (issue #15):
 * the upstreams see the warm-up requests, telemetry hooks do not.
 */

import { ProxyConfigSchema } from "@meshtune/contracts";
import { describe, expect, it } from "vitest";
import { warmTargets } from "../src/index.js";
import { autoCleanup, get, proxyConfig, sim, startProxy, staticEndpoints } from "./helpers.js";

const { track } = autoCleanup();

describe("request-path warm-up", () => {
  it("sends warm-up requests through the listener before /ready, kept out of the hooks", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }]));
    const seen: number[] = [];
    const p = track(
      await startProxy(
        proxyConfig(
          { discovery: { type: "static", endpoints: staticEndpoints(s) }, healthCheck: { enabled: false } },
          { routes: [{ match: { host: "api.example.com" }, cluster: "api" }] },
        ),
        { warmRequests: 50, hooks: { onRequest: (r) => seen.push(r.status) } },
      ),
    );
    expect(p.ready).toBe(true);
    // Warm-up requests go to the health-check path (the simulator counts them as checks).
    const upstream = s.endpoints.reduce((n, e) => n + e.stats().healthChecks, 0);
    expect(upstream).toBeGreaterThanOrEqual(50);
    expect(seen).toEqual([]);
    expect((await get(p)).status).toBe(200);
    expect(seen).toEqual([200]);
  });

  it("targets each cluster through a route that reaches it", () => {
    const cfg = ProxyConfigSchema.parse(
      proxyConfig(
        { discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: 1 }] } },
        {
          routes: [
            { match: { host: "api.example.com", pathPrefix: "/v1/" }, cluster: "api" },
            { match: { host: "*" }, cluster: "other" },
          ],
          clusters: [{ name: "other", discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: 2 }] } }],
        },
      ),
    );
    expect(warmTargets(cfg)).toEqual([
      { cluster: "api", host: "api.example.com", path: "/v1/health" },
      { cluster: "other", host: "meshtune-warmup.invalid", path: "/health" },
    ]);
  });
});
