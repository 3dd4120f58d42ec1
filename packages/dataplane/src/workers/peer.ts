/**
 * Verdicts shared between the workers of one proxy (`--workers N`, issue #15). Each worker
 * has its own pools (as Envoy's --concurrency workers do), but an endpoint one worker found
 * broken must not cost every other worker its own failures: an outlier ejection or a failed
 * warm-up decided in one worker is sent (through the primary) to all the others, which eject
 * the endpoint through their own outlier detector — the flag's one writer — with the reason
 * `peer_<reason>`, under the same backoff and max-ejection-percent rules. Verdicts that were
 * themselves received from a peer are never sent on (no echo between workers).
 *
 * Active health checks run in one worker only (the first; the others follow): its verdicts —
 * a host becoming unhealthy or healthy again — are adopted by the others' trackers, so N
 * workers send one worker's probes and a dead endpoint is flagged in all at the same check.
 */
import type { ClusterEvent } from "../cluster.js";
import type { EjectOutcome } from "../outlier/detector.js";
import type { EgressProxy } from "../proxy/proxy.js";

export const PEER_PREFIX = "peer_";

interface VerdictBase {
  type: "meshtune:verdict";
  /** Worker id that decided it. */
  from: number;
  cluster: string;
  endpoint: string;
  detail: string;
}

/** An outlier ejection or a failed warm-up: the receiver ejects the endpoint. */
export interface EjectVerdict extends VerdictBase {
  kind: "eject";
  reason: string;
}

/** The health-checking worker's verdict (thresholds already applied there). */
export interface HealthVerdict extends VerdictBase {
  kind: "health";
  healthy: boolean;
}

export type PeerVerdict = EjectVerdict | HealthVerdict;

/** The verdict a local cluster event amounts to, or undefined when it is none (or a peer's). */
export function verdictOf(ev: ClusterEvent, from: number): PeerVerdict | undefined {
  const base = { type: "meshtune:verdict", from, cluster: ev.cluster } as const;
  if (ev.type === "outlier" && ev.event.type === "ejected") {
    const reason = String(ev.event.reason);
    if (reason.startsWith(PEER_PREFIX)) return undefined;
    return { ...base, kind: "eject", endpoint: ev.event.host.key, reason, detail: ev.event.detail ?? "" };
  }
  if (ev.type === "warmup_done" && ev.ready === 0 && ev.failed > 0) {
    return { ...base, kind: "eject", endpoint: ev.host.key, reason: "warmup_failure", detail: ev.failures[0] ?? "" };
  }
  // Only a worker that runs the checks emits health transitions (a follower's adopt() does not).
  if (ev.type === "health") {
    return { ...base, kind: "health", endpoint: ev.host.key, healthy: ev.healthy, detail: ev.detail };
  }
  return undefined;
}

export function isPeerVerdict(m: unknown): m is PeerVerdict {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === "meshtune:verdict";
}

/** Apply a peer's verdict in this worker. */
export function applyVerdict(proxy: EgressProxy, v: PeerVerdict): EjectOutcome | "adopted" | "unknown_cluster" {
  const rt = proxy.clusters.get(v.cluster);
  if (!rt) return "unknown_cluster";
  const host = rt.hosts.get(v.endpoint);
  if (!host) return "unknown_host";
  if (v.kind === "health") {
    rt.adoptHealth(host, v.healthy, v.detail);
    return "adopted";
  }
  return rt.outlier.eject(host, `${PEER_PREFIX}${v.reason}`, `worker ${v.from}: ${v.detail}`);
}
