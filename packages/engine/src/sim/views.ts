/**
 * Sums one-second buckets into the views the engine reads (what the collector's window reader
 * does from Redis), for simulations: counters add up, gauges are the latest second's.
 */
import type { EndpointWindow, HistogramWindow } from "@meshtune/contracts";

export function emptyHistogram(bounds: readonly number[]): HistogramWindow {
  return { bounds, counts: new Array(bounds.length + 1).fill(0), count: 0, sum: 0 };
}

export function emptyWindow(
  endpoint: string,
  latencyBounds: readonly number[],
  shortBounds: readonly number[],
): EndpointWindow {
  return {
    endpoint,
    attempts: {},
    latency: emptyHistogram(latencyBounds),
    poolWait: emptyHistogram(shortBounds),
    connectLatency: emptyHistogram(shortBounds),
    connectFailures: {},
    warmup: {},
    health: {},
    ejections: {},
    picks: 0,
    gauges: { inFlight: 0, poolIdle: 0, poolActive: 0, poolConnecting: 0, poolPending: 0 },
    proxiesReporting: 0,
    failuresByProxy: {},
    healthyByProxy: {},
  };
}

function addRecord(into: Record<string, number>, from: Record<string, number | undefined>, sign: 1 | -1): void {
  for (const [k, v] of Object.entries(from)) {
    const n = (into[k] ?? 0) + sign * (v ?? 0);
    if (n === 0) delete into[k];
    else into[k] = n;
  }
}

function addHistogram(into: HistogramWindow, from: HistogramWindow, sign: 1 | -1): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i] = (into.counts[i] ?? 0) + sign * (from.counts[i] ?? 0);
  into.count += sign * from.count;
  into.sum += sign * from.sum;
}

/**
 * A view kept as running sums (add the newest second, subtract the one that left), so a
 * simulation step costs the same whatever the view length. Gauges and proxiesReporting are the
 * newest second's.
 */
export class RunningWindow {
  readonly #w: EndpointWindow;
  readonly #seconds: EndpointWindow[] = [];
  readonly #length: number;

  constructor(endpoint: string, length: number, lb: readonly number[], sb: readonly number[]) {
    this.#w = emptyWindow(endpoint, lb, sb);
    this.#length = length;
  }

  push(s: EndpointWindow): void {
    this.#apply(s, 1);
    this.#seconds.push(s);
    if (this.#seconds.length > this.#length) {
      const old = this.#seconds.shift();
      if (old) this.#apply(old, -1);
    }
    this.#w.gauges = { ...s.gauges };
    this.#w.proxiesReporting = Math.max(...this.#seconds.map((x) => x.proxiesReporting));
  }

  #apply(s: EndpointWindow, sign: 1 | -1): void {
    const w = this.#w;
    addRecord(w.attempts as Record<string, number>, s.attempts, sign);
    addHistogram(w.latency, s.latency, sign);
    addHistogram(w.poolWait, s.poolWait, sign);
    addHistogram(w.connectLatency, s.connectLatency, sign);
    addRecord(w.connectFailures, s.connectFailures, sign);
    addRecord(w.warmup, s.warmup, sign);
    addRecord(w.health, s.health, sign);
    addRecord(w.ejections, s.ejections, sign);
    addRecord(w.failuresByProxy, s.failuresByProxy, sign);
    addRecord(w.healthyByProxy, s.healthyByProxy, sign);
    w.picks += sign * s.picks;
  }

  /** A copy the caller may keep. */
  snapshot(): EndpointWindow {
    return structuredClone(this.#w);
  }
}
