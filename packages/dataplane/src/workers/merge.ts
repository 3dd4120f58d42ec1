/**
 * /clusters for a multi-worker proxy: the workers' own /clusters merged per cluster and
 * endpoint. Counts add up (in-flight, requests, pool idle/active/connecting/pending/reused/
 * fresh); an endpoint is available only when it is available in every worker; flags are
 * united (each with the reason of the first worker that has it); everything else is the first
 * worker's. Per-worker detail stays under /workers.
 */

export interface WorkerClusters {
  worker: number;
  pid: number;
  ready: boolean;
  body: unknown;
}

type Json = Record<string, unknown>;
const SUMMED_POOL = ["idle", "active", "connecting", "pending", "reused", "fresh"];

const num = (x: unknown) => (typeof x === "number" ? x : 0);

function mergeEndpoint(into: Json, ep: Json): void {
  into.inFlight = num(into.inFlight) + num(ep.inFlight);
  into.requestsTotal = num(into.requestsTotal) + num(ep.requestsTotal);
  into.available = into.available === true && ep.available === true;
  into.flags = { ...(ep.flags as Json), ...(into.flags as Json) };
  const a = into.pool as Json | null;
  const b = ep.pool as Json | null;
  if (a && b) for (const k of SUMMED_POOL) a[k] = num(a[k]) + num(b[k]);
}

export function mergeClusters(id: string, workers: readonly WorkerClusters[]): Json {
  const clusters = new Map<string, { head: Json; endpoints: Map<string, Json> }>();
  let inFlight = 0;
  let requests = 0;
  for (const w of workers) {
    const body = w.body as { inFlight?: number; requests?: number; clusters?: Json[] } | undefined;
    if (!body) continue;
    inFlight += num(body.inFlight);
    requests += num(body.requests);
    for (const c of body.clusters ?? []) {
      const name = String(c.name);
      let m = clusters.get(name);
      if (!m) {
        m = { head: { ...c }, endpoints: new Map() };
        clusters.set(name, m);
      }
      for (const ep of (c.endpoints as Json[] | undefined) ?? []) {
        const key = String(ep.endpoint);
        const have = m.endpoints.get(key);
        if (!have) m.endpoints.set(key, structuredClone(ep));
        else mergeEndpoint(have, ep);
      }
    }
  }
  return {
    proxy: id,
    workers: workers.map((w) => ({ worker: w.worker, pid: w.pid, ready: w.ready, reporting: w.body !== undefined })),
    inFlight,
    requests,
    clusters: [...clusters.values()].map((m) => ({ ...m.head, endpoints: [...m.endpoints.values()] })),
  };
}
