/** Building blocks of one EndpointWindow (contracts/src/windows.ts) for the reader. */
import type { EndpointWindow, HistogramWindow } from "@meshtune/contracts";
import { BUCKET_KIND, GAUGE, GAUGE_ORDER, HISTOGRAM_BOUNDS } from "./fields.js";

export interface GaugeSample {
  proxy: string;
  /** In GAUGE_ORDER; null = not reported. */
  values: readonly (number | null)[];
}

function histogram(bounds: readonly number[]): HistogramWindow {
  return { bounds, counts: new Array<number>(bounds.length + 1).fill(0), count: 0, sum: 0 };
}

export function emptyEndpoint(endpoint: string): EndpointWindow {
  return {
    endpoint,
    attempts: {},
    latency: histogram(HISTOGRAM_BOUNDS[BUCKET_KIND.latency]!),
    poolWait: histogram(HISTOGRAM_BOUNDS[BUCKET_KIND.poolWait]!),
    connectLatency: histogram(HISTOGRAM_BOUNDS[BUCKET_KIND.connectLatency]!),
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

/** Sums each proxy's latest gauge over proxies; the LB score is their mean. */
export function addGauges(w: EndpointWindow, samples: readonly GaugeSample[]): void {
  const sums = GAUGE_ORDER.map(() => 0);
  let scores = 0;
  const scoreAt = GAUGE_ORDER.indexOf(GAUGE.lbScore);
  for (const s of samples) {
    for (let i = 0; i < GAUGE_ORDER.length; i++) {
      const x = s.values[i];
      if (typeof x !== "number" || !Number.isFinite(x)) continue;
      sums[i]! += x;
      if (i === scoreAt) scores++;
    }
  }
  const at = (g: (typeof GAUGE)[keyof typeof GAUGE]) => sums[GAUGE_ORDER.indexOf(g)]!;
  w.gauges.inFlight += at(GAUGE.inFlight);
  w.gauges.poolIdle += at(GAUGE.poolIdle);
  w.gauges.poolActive += at(GAUGE.poolActive);
  w.gauges.poolConnecting += at(GAUGE.poolConnecting);
  w.gauges.poolPending += at(GAUGE.poolPending);
  if (scores > 0) w.gauges.lbScore = at(GAUGE.lbScore) / scores;
}
