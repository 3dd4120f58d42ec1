/**
 * Verdicts shared between the workers of one proxy (`--workers N`, issue #15). Each worker
 * has its own pools (as Envoy's --concurrency workers do), but an endpoint one worker found
 * broken must not cost every other worker its own failures: an outlier ejection or a failed
 * warm-up decided in one worker is sent (through the primary) to all the others, which eject
 * the endpoint through their own outlier detector — the flag's one writer — with the reason
 * `peer_<reason>`, under the same backoff and max-ejection-percent rules. Verdicts that were
 * themselves received from a peer are never sent on (no echo between workers).
 */
import type { ClusterEvent } from "../cluster.js";
import type { EjectOutcome } from "../outlier/detector.js";
import type { EgressProxy } from "../proxy/proxy.js";

export const PEER_PREFIX = "peer_";

export interface PeerVerdict {
  type: "meshtune:verdict";
  /** Worker id that decided it. */
  from: number;
  cluster: string;
  endpoint: string;
  reason: string;
  detail: string;
}

/** The verdict a local cluster event amounts to, or undefined when it is none (or a peer's). */
export function verdictOf(ev: ClusterEvent, from: number): PeerVerdict | undefined {
  if (ev.type === "outlier" && ev.event.type === "ejected") {
    const reason = String(ev.event.reason);
    if (reason.startsWith(PEER_PREFIX)) return undefined;
    return {
      type: "meshtune:verdict",
      from,
      cluster: ev.cluster,
      endpoint: ev.event.host.key,
      reason,
      detail: ev.event.detail ?? "",
    };
  }
  if (ev.type === "warmup_done" && ev.ready === 0 && ev.failed > 0) {
    return {
      type: "meshtune:verdict",
      from,
      cluster: ev.cluster,
      endpoint: ev.host.key,
      reason: "warmup_failure",
      detail: ev.failures[0] ?? "",
    };
  }
  return undefined;
}

export function isPeerVerdict(m: unknown): m is PeerVerdict {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === "meshtune:verdict";
}

/** Apply a peer's verdict in this worker. */
export function applyVerdict(proxy: EgressProxy, v: PeerVerdict): EjectOutcome | "unknown_cluster" {
  const rt = proxy.clusters.get(v.cluster);
  if (!rt) return "unknown_cluster";
  const host = rt.hosts.get(v.endpoint);
  if (!host) return "unknown_host";
  return rt.outlier.eject(host, `${PEER_PREFIX}${v.reason}`, `worker ${v.from}: ${v.detail}`);
}
