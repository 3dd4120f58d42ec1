/** The collector's own Prometheus metrics (names from TUNER_METRICS in contracts), on its own registry. */
import { type MetricDef, TUNER_METRICS } from "@meshtune/contracts";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const T = TUNER_METRICS;

function counter(reg: Registry, d: MetricDef) {
  return new Counter({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [reg] });
}

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly requests = counter(this.registry, T.collectorRequests);
  readonly points = counter(this.registry, T.collectorPoints);
  readonly spans = counter(this.registry, T.collectorSpans);
  readonly rejected = counter(this.registry, T.collectorRejected);
  readonly ignored = counter(this.registry, T.collectorIgnored);
  readonly decodeErrors = counter(this.registry, T.collectorDecodeErrors);
  readonly signals = counter(this.registry, T.collectorSignals);
  readonly jobs = counter(this.registry, T.collectorJobs);
  readonly series = new Gauge({
    name: T.collectorSeries.name,
    help: T.collectorSeries.help,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: T.collectorInFlight.name,
    help: T.collectorInFlight.help,
    registers: [this.registry],
  });
  readonly redisWrite = new Histogram({
    name: T.collectorRedisWrite.name,
    help: T.collectorRedisWrite.help,
    buckets: [...(T.collectorRedisWrite.buckets ?? [])],
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    // Process CPU, memory and event-loop lag, standard prom-client names (one per process).
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  rejectMany(what: "points" | "spans", reasons: ReadonlyMap<string, number>): void {
    for (const [reason, n] of reasons) this.rejected.inc({ what, reason }, n);
  }
}
