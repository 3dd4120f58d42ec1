/** Building blocks of one EndpointWindow (contracts/src/windows.ts) for the reader. */
import type { EndpointWindow, HistogramWindow } from "@meshtune/contracts";
import { BUCKET_KIND, GAUGE, HISTOGRAM_BOUNDS } from "./fields.js";

export interface GaugeSample {
  proxy: string;
  gauge: string;
  value: number;
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
  let scoreSum = 0;
  let scores = 0;
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    switch (s.gauge) {
      case GAUGE.inFlight:
        w.gauges.inFlight += s.value;
        break;
      case GAUGE.poolIdle:
        w.gauges.poolIdle += s.value;
        break;
      case GAUGE.poolActive:
        w.gauges.poolActive += s.value;
        break;
      case GAUGE.poolConnecting:
        w.gauges.poolConnecting += s.value;
        break;
      case GAUGE.poolPending:
        w.gauges.poolPending += s.value;
        break;
      case GAUGE.lbScore:
        scoreSum += s.value;
        scores++;
        break;
    }
  }
  if (scores > 0) w.gauges.lbScore = scoreSum / scores;
}
