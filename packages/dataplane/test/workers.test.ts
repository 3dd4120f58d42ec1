/**
 * `--workers N` (issue #15): workers share the egress listener (SO_REUSEPORT) and each has its
 * own pools; a verdict decided in one worker applies in all; the primary's admin API reports
 * the whole proxy. Real processes (node:cluster) from the built package (test/fixtures).
 */
import net from "node:net";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { describe, expect, it } from "vitest";
import { WorkerPrimary } from "../src/index.js";
import { autoCleanup, eventually, proxyConfig, sim, staticEndpoints } from "./helpers.js";

const { track, defer } = autoCleanup();
const FIXTURE = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Ep = { endpoint: string; flags: Record<string, string>; outlier: { ejected: boolean; reason?: string } };
type WorkerView = { worker: number; body: { requests: number; clusters: { endpoints: Ep[] }[] } };

async function getJson(port: number, path: string) {
  const r = await request(`http://127.0.0.1:${port}${path}`);
  return (await r.body.json()) as Record<string, unknown>;
}

/** Two workers of the fixture on `cfg`, stopped after the test; resolves to the primary's admin port. */
async function startPrimary(cfg: unknown): Promise<number> {
  const primary = new WorkerPrimary({
    workers: 2,
    exec: FIXTURE,
    env: { MESHTUNE_TEST_CONFIG: JSON.stringify(cfg) },
    admin: { host: "127.0.0.1", port: 0 },
    id: "test",
    drainTimeoutMs: 1_000,
  });
  defer(() => primary.stop());
  await primary.start();
  await eventually(() => primary.ready, 20_000);
  return (primary.adminAddress as net.AddressInfo).port;
}

describe("multi-worker proxy", () => {
  it("serves on every worker, shares an ejection decided in one, and reports the whole proxy", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }, { name: "c" }]));
    const port = await freePort();
    const cfg = proxyConfig(
      {
        discovery: { type: "static", endpoints: staticEndpoints(s) },
        lb: { policy: "round_robin" },
        healthCheck: { enabled: false },
        outlier: { consecutive5xx: 2, maxEjectionPercent: 100, baseEjectionTimeMs: 60_000 },
        retry: { maxRetries: 0 },
      },
      { proxy: { listener: { port } } },
    );
    const admin = await startPrimary(cfg);
    expect((await request(`http://127.0.0.1:${admin}/ready`)).statusCode).toBe(200);

    // A request reaches every worker: new connections until both have served (bounded).
    const workers = async () => (await getJson(admin, "/workers")).workers as WorkerView[];
    for (let i = 0; i < 200; i++) {
      const r = await request(`http://127.0.0.1:${port}/`, {
        headers: { host: "api.example.com", connection: "close" },
      });
      await r.body.dump();
      if (i % 10 === 9 && (await workers()).every((w) => w.body.requests > 0)) break;
    }
    const served = await workers();
    expect(served.map((w) => w.body.requests > 0)).toEqual([true, true]);
    const merged = await getJson(admin, "/clusters");
    expect(merged.requests).toBe(served.reduce((n, w) => n + w.body.requests, 0));

    // 5xx on one keep-alive connection: only the worker holding it sees them and ejects.
    const one = new Agent({ connections: 1 });
    defer(() => one.close());
    for (let i = 0; i < 6; i++) {
      const r = await request(`http://127.0.0.1:${port}/?status=500`, {
        headers: { host: "api.example.com" },
        dispatcher: one,
      });
      await r.body.dump();
    }
    const ejections = async () =>
      (await workers()).map((w) =>
        w.body.clusters[0]!.endpoints.filter((e) => e.outlier.ejected).map((e) => `${e.endpoint} ${e.outlier.reason}`),
      );
    await eventually(async () => {
      const [w1, w2] = await ejections();
      return (w1?.length ?? 0) > 0 && w1?.length === w2?.length;
    }, 10_000);
    const [w1, w2] = await ejections();
    const own = [...w1!, ...w2!].filter((x) => !x.includes(" peer_"));
    const peer = [...w1!, ...w2!].filter((x) => x.includes(" peer_"));
    // Each endpoint ejected once by the worker that saw its 5xx, and as a peer verdict in the other.
    expect(own.length).toBeGreaterThan(0);
    expect(peer.map((x) => x.split(" ")[0]).sort()).toEqual(own.map((x) => x.split(" ")[0]).sort());
  }, 60_000);
  it("runs the active health checks in one worker and applies its verdicts in all", async () => {
    const s = track(await sim([{ name: "a" }, { name: "b" }]));
    const port = await freePort();
    const cfg = proxyConfig(
      {
        discovery: { type: "static", endpoints: staticEndpoints(s) },
        lb: { policy: "round_robin" },
        healthCheck: { enabled: true, intervalMs: 200, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 2 },
      },
      { proxy: { listener: { port } } },
    );
    const admin = await startPrimary(cfg);
    type HcEp = Ep & { health: { healthy: boolean; totalChecks: number } };
    const view = async () =>
      ((await getJson(admin, "/workers")).workers as WorkerView[]).map((w) =>
        Object.fromEntries(
          (w.body.clusters[0]!.endpoints as HcEp[]).map((e) => [
            e.endpoint,
            { ...e.health, flag: e.flags.failed_active_hc },
          ]),
        ),
      );
    const b = `127.0.0.1:${s.endpoint("b").port}`;

    await s.endpoint("b").setFaults({ health: { status: 503 } });
    await eventually(async () => (await view()).every((w) => w[b]?.healthy === false), 10_000);
    const [w1, w2] = await view();
    // Worker 1 probed; worker 2 sent no probe of its own and carries worker 1's verdict.
    expect(w1![b]!.totalChecks).toBeGreaterThan(0);
    expect(w2![b]!.totalChecks).toBe(0);
    expect(w2![b]!.flag).toBe(w1![b]!.flag);
    expect(w2![b]!.flag).toContain("503");
    // Through the shared listener, no request reaches b from either worker.
    const before = s.endpoint("b").stats().requests;
    for (let i = 0; i < 20; i++) {
      const r = await request(`http://127.0.0.1:${port}/`, {
        headers: { host: "api.example.com", connection: "close" },
      });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    }
    expect(s.endpoint("b").stats().requests).toBe(before);

    // A replaced worker starts with the verdict the primary kept, not with a healthy b.
    const old = ((await getJson(admin, "/workers")).workers as { worker: number; pid: number }[])[1]!;
    process.kill(old.pid, "SIGKILL");
    await eventually(async () => {
      const ws = (await getJson(admin, "/workers")).workers as { worker: number; pid: number; ready: boolean }[];
      return ws.length === 2 && ws[1]!.pid !== old.pid && ws[1]!.ready;
    }, 20_000);
    const [, replaced] = await view();
    expect(replaced![b]).toMatchObject({ healthy: false, totalChecks: 0 });

    // The checker itself is replaced while b recovers: the new worker 1 starts with b healthy
    // (no transition to announce), yet worker 2 must not keep worker 1's old flag.
    const checker = ((await getJson(admin, "/workers")).workers as { worker: number; pid: number }[])[0]!;
    process.kill(checker.pid, "SIGKILL");
    await s.endpoint("b").resetFaults();
    await eventually(async () => {
      const ws = (await getJson(admin, "/workers")).workers as { worker: number; pid: number; ready: boolean }[];
      return ws.length === 2 && ws[0]!.pid !== checker.pid && ws[0]!.ready;
    }, 20_000);
    await eventually(async () => (await view()).every((w) => w[b]?.healthy === true && !w[b]?.flag), 10_000);
  }, 60_000);
});
