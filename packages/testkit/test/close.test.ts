import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { runLoad } from "../src/loadgen/run-load.js";
import { startSimulator } from "../src/sim/simulator.js";
import { get, h2get, simConfig, waitFor } from "./helpers.js";

/** Handles that keep a process alive, by type (TCP sockets and servers, timers). */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "TCPWrap" || r === "TCPServerWrap" || r === "Timeout" || r === "TLSWrap")
      counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}

function noMoreThan(baseline: Record<string, number>): boolean {
  const now = liveHandles();
  return Object.entries(now).every(([k, n]) => n <= (baseline[k] ?? 0));
}

describe("close()", () => {
  it("leaves no open handles behind, even with hung, delayed and in-flight connections", async () => {
    const baseline = liveHandles();
    const sim = await startSimulator(
      simConfig([
        { name: "hole", faults: { blackHole: true } },
        { name: "slow", faults: { latency: { dist: "fixed", ms: 10_000 } } },
        { name: "accept", faults: { acceptDelayMs: 10_000 } },
        { name: "tls", protocol: "h2", faults: { tlsDelayMs: 10_000 } },
        { name: "h2c", protocol: "h2c" },
        { name: "refused", faults: { refuse: true } },
        { name: "kept", protocol: "https" },
      ]),
    );
    const agent = new http.Agent({ keepAlive: true });
    // Idle keep-alive connections, an h2 session, and requests that will never finish on their own.
    await get(`${sim.endpoint("kept").url}/`);
    await h2get(`${sim.endpoint("h2c").url}/`);
    await get(`${sim.controlUrl}/health`, { agent });
    const hung = [
      get(`${sim.endpoint("hole").url}/`, { timeoutMs: 20_000 }),
      get(`${sim.endpoint("slow").url}/`, { timeoutMs: 20_000 }),
      get(`${sim.endpoint("accept").url}/`, { timeoutMs: 20_000 }),
      get(`${sim.endpoint("tls").url}/`, { timeoutMs: 20_000 }),
    ].map((p) =>
      p.then(
        () => "answered",
        (e: NodeJS.ErrnoException) => e.code ?? "error",
      ),
    );
    const load = runLoad({ url: `${sim.endpoint("slow").url}/`, rps: 50, durationMs: 200, timeoutMs: 20_000 });
    const raw = net.connect({ host: "127.0.0.1", port: sim.endpoint("hole").port });
    raw.on("error", () => {});
    await waitFor(
      () =>
        sim.endpoint("accept").stats().connectionsAccepted >= 1 && sim.endpoint("tls").stats().connectionsAccepted >= 1,
    );
    await new Promise((r) => setTimeout(r, 250));

    // The measure sees the simulator's handles (so the final check means something).
    expect(noMoreThan(baseline)).toBe(false);
    const t0 = performance.now();
    await sim.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    await sim.close(); // idempotent

    // Every client side sees its connection die instead of hanging for 20 s.
    expect(await Promise.all(hung)).toEqual(["ECONNRESET", "ECONNRESET", "ECONNRESET", "ECONNRESET"]);
    const report = await load;
    expect(report.completed).toBe(0);
    expect(report.errorCount).toBe(report.sent);
    raw.destroy();
    agent.destroy();
    expect(await waitFor(() => noMoreThan(baseline), 2000)).toBe(true);
  });
});
