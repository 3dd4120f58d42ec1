/** The engine's own Prometheus metrics (names from TUNER_METRICS in contracts), on its own registry. */
import { type Decision, type MetricDef, TUNER_METRICS } from "@meshtune/contracts";
import { type EngineConfig, type EngineState, holtForecast, outcomeOf } from "@meshtune/engine";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const T = TUNER_METRICS;

function counter(reg: Registry, d: MetricDef) {
  return new Counter({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [reg] });
}
function gauge(reg: Registry, d: MetricDef) {
  return new Gauge({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [reg] });
}
function histogram(reg: Registry, d: MetricDef) {
  return new Histogram({
    name: d.name,
    help: d.help,
    labelNames: [...d.labels],
    buckets: [...(d.buckets ?? [])],
    registers: [reg],
  });
}

export class EngineMetrics {
  readonly registry = new Registry();
  readonly decisions = counter(this.registry, T.engineDecisions);
  readonly guardrails = counter(this.registry, T.engineGuardrailHits);
  readonly duration = histogram(this.registry, T.engineEvaluationDuration);
  readonly lag = histogram(this.registry, T.engineJobLag);
  readonly redisErrors = counter(this.registry, T.engineRedisErrors);
  readonly jobs = counter(this.registry, T.engineJobs);
  readonly weight = gauge(this.registry, T.engineEndpointWeight);
  readonly score = gauge(this.registry, T.engineEndpointScore);
  readonly predicted = gauge(this.registry, T.enginePredictedRate);
  readonly ejected = gauge(this.registry, T.engineEjected);
  readonly cap = gauge(this.registry, T.engineEjectionCap);

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts the decisions a commit added (a retried job's duplicates were not added, so not counted). */
  added(cluster: string, decisions: readonly Decision[]): void {
    for (const d of decisions) {
      this.decisions.inc({ cluster, rule: d.rule, kind: d.kind, outcome: outcomeOf(d) });
      for (const g of d.guardrails ?? []) this.guardrails.inc({ cluster, guardrail: g.name, action: g.action });
    }
  }

  /** Gauges from the state after an evaluation, and every endpoint's pressure cost (the score). */
  state(cluster: string, s: EngineState, config: EngineConfig, costs: Record<string, number> = {}): void {
    for (const [endpoint, cost] of Object.entries(costs)) this.score.set({ cluster, endpoint }, cost);
    let ejected = 0;
    const total = Object.keys(s.endpoints).length;
    for (const [endpoint, e] of Object.entries(s.endpoints)) {
      if (e.ejection.status === "ejected") ejected++;
      this.weight.set({ cluster, endpoint }, e.weight.value);
      if (e.holt.level !== undefined)
        this.predicted.set(
          { cluster, endpoint },
          holtForecast(e.holt, config.forecast.horizonMs / 1000, config.forecast.phi),
        );
    }
    this.ejected.set({ cluster }, ejected);
    this.cap.set({ cluster }, Math.floor((total * config.eject.maxEjectionPercent) / 100));
  }
}
