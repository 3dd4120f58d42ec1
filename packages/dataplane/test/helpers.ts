/** Shared fixtures for proxy tests: a simulator, a proxy on free ports, and a client. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type ClusterInput, CONFIG_API_VERSION, type ProxyConfigInput, type SimConfigInput } from "@meshtune/contracts";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { Agent, request } from "undici";
import { afterEach } from "vitest";
import { EgressProxy, type ProxyDeps } from "../src/index.js";

export type SimEndpointInput = SimConfigInput["endpoints"][number];

export async function sim(endpoints: SimEndpointInput[]): Promise<Simulator> {
  return startSimulatorWith(endpoints);
}

export function staticEndpoints(s: Simulator, zones?: Record<string, string>) {
  return s.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port, zone: zones?.[e.name] }));
}

export function proxyConfig(
  cluster: Omit<ClusterInput, "name"> & { name?: string },
  extra: Partial<ProxyConfigInput> = {},
) {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: { listener: { port: 0 }, admin: { port: 0 }, drainTimeoutMs: 2000, ...(extra.proxy ?? {}) },
    routes: extra.routes ?? [],
    clusters: [{ name: "api", ...cluster }, ...(extra.clusters ?? [])],
  } satisfies ProxyConfigInput;
}

export async function startProxy(config: unknown, deps: ProxyDeps = {}): Promise<EgressProxy> {
  // Request-path warm-up off by default here: tests count requests; warm-path.test.ts covers it.
  const p = new EgressProxy({ warmRequests: 0, ...deps }, "test-proxy");
  const r = await p.applyConfig(1, config, "test");
  if (r.status !== "ACK") throw new Error(`config rejected: ${r.reason}`);
  await p.start();
  return p;
}

export const client = new Agent({ connections: 256, keepAliveTimeout: 10_000 });

export async function get(p: EgressProxy, path = "/", headers: Record<string, string> = {}) {
  const addr = p.listenerAddress!;
  const res = await request(`http://127.0.0.1:${addr.port}${path}`, {
    headers: { host: "api.example.com", ...headers },
    dispatcher: client,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

export async function admin(p: EgressProxy, path: string) {
  const addr = p.adminAddress!;
  const res = await request(`http://127.0.0.1:${addr.port}${path}`, { dispatcher: client });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

export function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

export async function countBy(p: EgressProxy, n: number, headers: Record<string, string> = {}) {
  const counts: Record<string, number> = {};
  const statuses: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await get(p, "/", headers);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const ep = header(r.headers, "x-sim-endpoint") ?? `error:${header(r.headers, "x-meshtune-error")}`;
    counts[ep] = (counts[ep] ?? 0) + 1;
  }
  return { counts, statuses };
}

/**
 * Per-test resource cleanup: everything registered during a test is closed after it, in
 * reverse order, so no server or proxy outlives its test.
 */
export function autoCleanup() {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  return {
    defer(fn: () => unknown): void {
      cleanup.push(fn);
    },
    track<T extends { close(): Promise<unknown> }>(x: T): T {
      cleanup.push(() => x.close());
      return x;
    },
    /** A plain node:http upstream on a loopback port (closed after the test); resolves to the port. */
    async upstream(handler: http.RequestListener): Promise<number> {
      const srv = http.createServer(handler);
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      cleanup.push(
        () =>
          new Promise((r) => {
            srv.closeAllConnections();
            srv.close(r);
          }),
      );
      return (srv.address() as AddressInfo).port;
    },
  };
}

/** Cluster settings for tests that count upstream requests: no health checks, no retries. */
export const quiet = {
  healthCheck: { enabled: false },
  warmup: { healthCheckOnConnection: false },
  retry: { maxRetries: 0 },
};
