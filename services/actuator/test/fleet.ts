import { parseSigningKeys, silentLogger } from "@meshtune/adapters";
import { EgressProxy } from "@meshtune/dataplane";
import { type ControlClient, startControlClient } from "@meshtune/proxy";
import type { Simulator } from "@meshtune/testkit";
import { freePort } from "@meshtune/testkit";
import { request } from "undici";

export { freePort };

export interface FleetProxy {
  id: string;
  proxy: EgressProxy;
  control: ControlClient;
  listener: number;
  admin: number;
  close(): Promise<void>;
}

export interface ProxyOptions {
  id: string;
  sim: Simulator;
  redisUrl: string;
  prefix: string;
  /** Key spec the proxy verifies with ("" = none). */
  key: string;
  /** Extra clusters in the proxy config. */
  extraClusters?: Record<string, unknown>[];
}

export const CLUSTER = "api";

export async function startFleetProxy(o: ProxyOptions): Promise<FleetProxy> {
  const [listener, admin] = [await freePort(), await freePort()];
  const proxy = new EgressProxy({}, o.id);
  const r = await proxy.applyConfig(1, {
    apiVersion: "meshtune.io/v1alpha1",
    kind: "ProxyConfig",
    proxy: { listener: { port: listener }, admin: { port: admin }, drainTimeoutMs: 1_000 },
    routes: [{ match: { host: "*" }, cluster: CLUSTER }],
    clusters: [
      {
        name: CLUSTER,
        discovery: { type: "static", endpoints: o.sim.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })) },
        lb: { policy: "round_robin" },
        healthCheck: { intervalMs: 60_000 },
        pool: { minWarm: 1 },
      },
      ...(o.extraClusters ?? []),
    ],
  });
  if (r.status !== "ACK") throw new Error(`proxy config refused: ${r.reason}`);
  await proxy.start();
  const control = await startControlClient(
    { clusters: () => [...proxy.clusters.keys()], applyControl: (input) => proxy.applyControl(input) },
    {
      redisUrl: o.redisUrl,
      prefix: o.prefix,
      proxyId: o.id,
      keys: o.key ? parseSigningKeys(o.key) : [],
      checkIntervalMs: 500,
      logger: silentLogger(),
    },
  );
  return {
    id: o.id,
    proxy,
    control,
    listener,
    admin,
    async close() {
      await control.close();
      await proxy.shutdown();
    },
  };
}

/** The proxy's own view (admin /clusters): endpoints of the cluster with their flags. */
export async function endpointsOf(p: FleetProxy, cluster = CLUSTER) {
  const res = await request(`http://127.0.0.1:${p.admin}/clusters`);
  const body = (await res.body.json()) as {
    clusters: Array<{
      name: string;
      endpoints: Array<{ endpoint: string; available: boolean; flags: Record<string, unknown> }>;
    }>;
  };
  return body.clusters.find((c) => c.name === cluster)?.endpoints ?? [];
}

export async function send(p: FleetProxy, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(`http://127.0.0.1:${p.listener}/x`, { headers: { host: "api.example.com" } });
    await res.body.dump();
    statuses.push(res.statusCode);
  }
  return statuses;
}
