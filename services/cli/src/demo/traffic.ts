/**
 * Steady open-loop load through every proxy of both fleets (the same schedule for both, so
 * the fleets compare), and what it saw per act: requests, failed requests (5xx or no
 * response) and latency, per proxy and per fleet.
 */
import { Histogram, type LoadSample, runLoad } from "@meshtune/testkit";
import type { DemoProxy, FleetName } from "./fleet.js";
import { SERVICES, type ServiceName } from "./story.js";

export interface ActStats {
  requests: number;
  failed: number;
  /** Microseconds. */
  latency: Histogram;
}

const newStats = (): ActStats => ({ requests: 0, failed: 0, latency: new Histogram() });

/** Stats by act index, then proxy id. */
export class TrafficLedger {
  readonly #byAct: Map<string, ActStats>[] = [];
  readonly #fleetOf = new Map<string, FleetName>();

  record(act: number, proxy: DemoProxy, sample: LoadSample): void {
    if (sample.dropped) return;
    this.#fleetOf.set(proxy.id, proxy.fleet);
    let byProxy = this.#byAct[act];
    if (!byProxy) {
      byProxy = new Map();
      this.#byAct[act] = byProxy;
    }
    let s = byProxy.get(proxy.id);
    if (!s) {
      s = newStats();
      byProxy.set(proxy.id, s);
    }
    s.requests++;
    if (sample.error !== undefined || (sample.status ?? 0) >= 500) s.failed++;
    else s.latency.record(sample.latencyMs * 1000);
  }

  proxy(act: number, id: string): ActStats {
    return this.#byAct[act]?.get(id) ?? newStats();
  }

  /** One fleet's totals in an act (latencies merged). */
  fleet(act: number, fleet: FleetName): ActStats {
    const total = newStats();
    for (const [id, s] of this.#byAct[act] ?? []) {
      if (this.#fleetOf.get(id) !== fleet) continue;
      total.requests += s.requests;
      total.failed += s.failed;
      total.latency.add(s.latency);
    }
    return total;
  }
}

export const p99Ms = (s: ActStats): number => (s.latency.count === 0 ? 0 : s.latency.valueAtPercentile(99) / 1000);

export interface TrafficOptions {
  proxies: readonly DemoProxy[];
  /** Requests per second per proxy and service before any surge. */
  rpsPerService: number;
  durationMs: number;
  /** Load multiplier for a service at elapsed ms (the surge act). */
  factor: (service: ServiceName, elapsedMs: number) => number;
  actAt: (elapsedMs: number) => number;
  ledger: TrafficLedger;
  signal: AbortSignal;
}

/** One open-loop generator per proxy and service; resolves when all have finished. */
export async function runTraffic(opts: TrafficOptions): Promise<void> {
  const runs = opts.proxies.flatMap((p) =>
    SERVICES.map((s) =>
      runLoad({
        url: `${p.listenerUrl}/demo`,
        headers: { host: s.host },
        rps: (elapsed) => opts.rpsPerService * opts.factor(s.cluster, elapsed),
        durationMs: opts.durationMs,
        timeoutMs: 4000,
        maxInFlight: 200,
        signal: opts.signal,
        onResult: (sample) => opts.ledger.record(opts.actAt(sample.scheduledAtMs), p, sample),
      }),
    ),
  );
  await Promise.allSettled(runs);
}
