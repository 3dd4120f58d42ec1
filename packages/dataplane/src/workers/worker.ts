/**
 * The worker side of `--workers N` (primary.ts): tell the primary where this worker's own
 * admin API listens and whether it is ready, send it the verdicts this worker decides, and
 * apply the verdicts other workers decided (peer.ts).
 */
import { nodeCluster } from "../builtins.js";
import type { ClusterEvent } from "../cluster.js";
import type { EgressProxy } from "../proxy/proxy.js";
import { forkedWorkerId } from "./env.js";
import { applyVerdict, isPeerVerdict, verdictOf } from "./peer.js";
import type { WorkerHello } from "./primary.js";

/** This process's worker id under a multi-worker primary, else undefined. */
export function workerId(): number | undefined {
  // A single process never loads node:cluster (builtins.ts).
  const raw = forkedWorkerId(process.env, process.send !== undefined);
  if (raw === undefined) return undefined;
  const cluster = nodeCluster();
  if (!cluster.isWorker) return undefined;
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 ? id : cluster.worker?.id;
}

/** Who runs the active health checks: a single process or worker 1; the others follow it (peer.ts). */
export function healthRole(id: number | undefined): "run" | "follow" {
  return id === undefined || id === 1 ? "run" : "follow";
}

/** Cluster-event hook: forwards this worker's own verdicts to the primary. */
export function verdictSender(id: number): (ev: ClusterEvent) => void {
  return (ev) => {
    const v = verdictOf(ev, id);
    if (v && process.send) process.send(v);
  };
}

/** Applies peers' verdicts to `proxy`; returns the unsubscribe function. */
export function receiveVerdicts(proxy: EgressProxy): () => void {
  const onMessage = (m: unknown) => {
    if (isPeerVerdict(m)) applyVerdict(proxy, m);
  };
  process.on("message", onMessage);
  return () => process.off("message", onMessage);
}

/** Reports this worker's admin port and readiness to the primary. */
export function announce(proxy: EgressProxy, id: number): void {
  const hello: WorkerHello = {
    type: "meshtune:worker",
    id,
    adminPort: proxy.adminAddress?.port ?? 0,
    ready: proxy.ready,
  };
  process.send?.(hello);
}
