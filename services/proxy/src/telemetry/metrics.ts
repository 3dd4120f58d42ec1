/**
 * Proxy metrics, defined once on an OTel MeterProvider from the contracts catalog
 * (PROXY_METRICS). Every reader — the OTLP push reader and the /metrics pull reader — collects
 * from the same instruments, so nothing is counted twice and both show the same numbers.
 *
 * Data-plane events (connects, warm-up, health checks, ejections) and configuration
 * applications feed synchronous counters and histograms; state (in-flight, pool connections,
 * flags, score, picks, versions) is read from the proxy at collection time through one batch
 * callback, never mirrored by hand (undici style: totals are getters). Per-request metrics live
 * in request-stats.ts (aggregated in place, read by the same readers).
 */
import { LABEL, type MetricDef, PROXY_METRICS } from "@meshtune/contracts";
import { type ClusterEvent, type EgressProxy, HEALTH_FLAGS, type Host } from "@meshtune/dataplane";
import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  Observable,
  ObservableCounter,
  ObservableGauge,
} from "@opentelemetry/api";

export type ProxyView = Pick<EgressProxy, "clusters" | "applied" | "controlVersion">;

function unitOf(def: MetricDef): string | undefined {
  return def.unit === "seconds" ? "s" : def.unit === "bytes" ? "By" : undefined;
}

function counter(meter: Meter, def: MetricDef): Counter {
  return meter.createCounter(def.name, { description: def.help, unit: unitOf(def) });
}
function histogram(meter: Meter, def: MetricDef): Histogram {
  return meter.createHistogram(def.name, {
    description: def.help,
    unit: unitOf(def),
    advice: def.buckets ? { explicitBucketBoundaries: [...def.buckets] } : undefined,
  });
}
function gauge(meter: Meter, def: MetricDef): ObservableGauge {
  return meter.createObservableGauge(def.name, { description: def.help, unit: unitOf(def) });
}

interface HostAttrs {
  ep: Attributes;
}

const HEALTH_RESULT = { success: "success", failure: "failure", timeout: "timeout" } as const;

export class ProxyMetrics {
  readonly #view: () => ProxyView | undefined;
  readonly #connectDuration: Histogram;
  readonly #connectFailures: Counter;
  readonly #warmup: Counter;
  readonly #healthChecks: Counter;
  readonly #ejections: Counter;
  readonly #configApplies: Counter;
  readonly #dropped: Counter;
  readonly #controlRefused: Counter;
  /** Attribute objects per host, built once: the request path allocates none. */
  readonly #hostAttrs = new WeakMap<Host, HostAttrs>();

  constructor(meter: Meter, view: () => ProxyView | undefined) {
    this.#view = view;
    const M = PROXY_METRICS;
    this.#connectDuration = histogram(meter, M.connectDuration);
    this.#connectFailures = counter(meter, M.connectFailures);
    this.#warmup = counter(meter, M.warmup);
    this.#healthChecks = counter(meter, M.healthChecks);
    this.#ejections = counter(meter, M.ejections);
    this.#configApplies = counter(meter, M.configApplies);
    this.#dropped = counter(meter, M.telemetryDropped);
    this.#controlRefused = counter(meter, M.controlRefused);
    // Zero series for every refusal kind of @meshtune/adapters' verifySnapshot, so an alert on
    // increase() sees the first forged snapshot.
    for (const reason of ["malformed", "unsigned", "unknown_key", "bad_signature", "wrong_cluster", "invalid"])
      this.#controlRefused.add(0, { [LABEL.reason]: reason });
    // Start the drop counters at 0 so "no drops" is a visible series, not an absent one.
    for (const signal of ["fast", "traces"] as const)
      for (const reason of ["queue_full", "export_failed"] as const) this.dropped(signal, reason, 0);

    const inFlight = gauge(meter, M.inFlight);
    const poolConnections = gauge(meter, M.poolConnections);
    const poolPending = gauge(meter, M.poolPending);
    const healthFlags = gauge(meter, M.healthFlags);
    const lbScore = gauge(meter, M.lbScore);
    const configVersion = gauge(meter, M.configVersion);
    const controlVersion = gauge(meter, M.controlVersion);
    const lbPicks: ObservableCounter = meter.createObservableCounter(M.lbPicks.name, { description: M.lbPicks.help });
    const observables: Observable[] = [
      inFlight,
      poolConnections,
      poolPending,
      healthFlags,
      lbScore,
      configVersion,
      controlVersion,
      lbPicks,
    ];
    meter.addBatchObservableCallback((r: BatchObservableResult) => {
      const proxy = this.#view();
      if (!proxy) return;
      const applied = proxy.applied;
      if (applied) r.observe(configVersion, applied.version);
      r.observe(controlVersion, proxy.controlVersion);
      for (const rt of proxy.clusters.values()) {
        const policy = rt.lb.policy;
        for (const host of rt.hosts.hosts) {
          const ep = this.#attrs(rt.name, host).ep;
          r.observe(inFlight, host.inFlight, ep);
          r.observe(lbPicks, host.requestsTotal, { ...ep, [LABEL.policy]: policy });
          r.observe(lbScore, rt.scoreOf(host).score, ep);
          for (const flag of HEALTH_FLAGS)
            r.observe(healthFlags, host.hasFlag(flag) ? 1 : 0, { ...ep, [LABEL.flag]: flag });
          const pool = rt.pool(host);
          if (pool) {
            r.observe(poolConnections, pool.idle, { ...ep, [LABEL.state]: "idle" });
            r.observe(poolConnections, pool.active, { ...ep, [LABEL.state]: "active" });
            r.observe(poolConnections, pool.connecting, { ...ep, [LABEL.state]: "connecting" });
            r.observe(poolPending, pool.pending, ep);
          }
        }
      }
    }, observables);
  }

  #attrs(cluster: string, host: Host): HostAttrs {
    let a = this.#hostAttrs.get(host);
    if (!a) {
      a = { ep: { [LABEL.cluster]: cluster, [LABEL.endpoint]: host.key } };
      this.#hostAttrs.set(host, a);
    }
    return a;
  }

  clusterEvent(ev: ClusterEvent): void {
    if (ev.type === "pool") {
      const ep = this.#attrs(ev.cluster, ev.host).ep;
      const e = ev.event;
      switch (e.type) {
        case "connect_ok":
          this.#connectDuration.record(e.connectMs / 1000, ep);
          break;
        case "connect_failed":
          this.#connectFailures.add(1, { ...ep, [LABEL.reason]: e.cause });
          break;
        case "warmup":
          this.#warmup.add(1, { ...ep, [LABEL.outcome]: e.outcome });
          break;
        case "health":
          this.#healthChecks.add(1, { ...ep, [LABEL.result]: healthResult(e) });
          break;
      }
    } else if (ev.type === "outlier" && ev.event.type === "ejected") {
      const ep = this.#attrs(ev.cluster, ev.event.host).ep;
      this.#ejections.add(1, { ...ep, [LABEL.reason]: ev.event.reason });
    }
  }

  configApplied(kind: "config" | "control", result: "ACK" | "NACK"): void {
    this.#configApplies.add(1, { [LABEL.kind]: kind, [LABEL.result]: result });
  }

  controlRefused(reason: string): void {
    this.#controlRefused.add(1, { [LABEL.reason]: reason });
  }

  dropped(signal: "fast" | "traces", reason: string, count: number): void {
    this.#dropped.add(count, { [LABEL.signal]: signal, [LABEL.reason]: reason });
  }
}

export function healthResult(e: { ok: boolean; detail: string }): keyof typeof HEALTH_RESULT {
  if (e.ok) return "success";
  return e.detail.startsWith("timeout") ? "timeout" : "failure";
}
