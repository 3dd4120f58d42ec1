/**
 * /clusters publishes instants of the monotonic clock as ISO wall times (issue #15: it showed
 * `ejectUntil` and `lastCheckedAt` as milliseconds since process start, which read as 1970).
 */
import { describe, expect, it } from "vitest";
import { admin, autoCleanup, proxyConfig, sim, startProxy, staticEndpoints } from "./helpers.js";

const { track } = autoCleanup();

describe("admin /clusters", () => {
  it("shows ejection and health-check instants as wall times, and the proxy's own figures", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }]));
    const p = track(
      await startProxy(
        proxyConfig({
          discovery: { type: "static", endpoints: staticEndpoints(s) },
          healthCheck: { intervalMs: 100, timeoutMs: 100 },
          outlier: { maxEjectionPercent: 100, baseEjectionTimeMs: 30_000 },
        }),
      ),
    );
    const rt = p.clusters.get("api")!;
    const host = rt.hosts.hosts[0]!;
    const before = Date.now();
    expect(rt.outlier.eject(host, "test", "by the test")).toBe("ejected");
    await rt.runHealthCheck(rt.hosts.hosts[1]!);
    const { json } = await admin(p, "/clusters");
    expect(json).toMatchObject({ inFlight: 0, requests: 0, admission: { overloaded: false } });
    const eps = (
      json.clusters as { endpoints: { outlier: Record<string, unknown>; health: Record<string, unknown> }[] }[]
    )[0]!.endpoints;
    const until = Date.parse(String(eps[0]!.outlier.ejectUntil));
    expect(until - before).toBeGreaterThan(29_000);
    expect(until - before).toBeLessThan(31_000);
    const checked = Date.parse(String(eps[1]!.health.lastCheckedAt));
    expect(Math.abs(checked - Date.now())).toBeLessThan(5_000);
  });
});
