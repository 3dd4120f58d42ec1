/**
 * Pool-aware least-request score (seed coordination 3; DESIGN.md section 2). Lower is better.
 *
 *   score = latency × (inFlight + 1) + poolWait
 *
 *   latency  = the endpoint's peak-EWMA latency (ms), floored at 0.1 ms so a cold endpoint
 *              still counts its load;
 *   poolWait = 0                      when an idle connection is ready,
 *              connectMs              when none is idle but the pool may open one (the next
 *                                     request would pay a handshake),
 *              max(connectMs, latency × (pending+1))  when the pool is full (the request
 *                                     queues behind others).
 *
 * The first term is Linkerd's cost (latency × outstanding requests), which makes a slow
 * endpoint lose comparisons as soon as one slow response is seen. The second term is what no
 * peer has: an endpoint with low in-flight but no idle connection scores worse, because its
 * next request pays TCP+TLS setup (the Envoy #45319 tail regression). See
 * docs/decisions/0004-pool-aware-score.md.
 */
import type { Host } from "../host.js";
import type { HostScore } from "../lb/types.js";

export interface ScoreInputs {
  latencyMs: number;
  connectMs: number;
}

export const LATENCY_FLOOR_MS = 0.1;

export function poolAwareScore(host: Host, inputs: ScoreInputs): HostScore {
  const pool = host.pool;
  const latency = Math.max(LATENCY_FLOOR_MS, inputs.latencyMs);
  const load = latency * (host.inFlight + 1);
  let poolWait = 0;
  if (pool.idle === 0) {
    const room = pool.active + pool.connecting < pool.maxConnections;
    // A full pool is never better than one that can still open a connection.
    poolWait = room ? inputs.connectMs : Math.max(inputs.connectMs, latency * (pool.pending + 1));
  }
  return {
    score: load + poolWait,
    terms: {
      latencyMs: latency,
      inFlight: host.inFlight,
      idle: pool.idle,
      connecting: pool.connecting,
      pending: pool.pending,
      connectMs: inputs.connectMs,
      loadTerm: load,
      poolWaitTerm: poolWait,
    },
  };
}
