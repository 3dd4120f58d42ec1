/**
 * The actuator's Prometheus metrics (prom-client), names and help from the contracts catalog
 * (TUNER_METRICS, meshtune_actuator_*): nothing here spells a metric name.
 */
import { type MetricDef, TUNER_METRICS } from "@meshtune/contracts";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

type Labels<D extends MetricDef> = D["labels"][number];

function counter<D extends MetricDef>(registry: Registry, d: D) {
  return new Counter<Labels<D>>({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
}
function gauge<D extends MetricDef>(registry: Registry, d: D) {
  return new Gauge<Labels<D>>({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
}
function histogram<D extends MetricDef>(registry: Registry, d: D) {
  return new Histogram<Labels<D>>({
    name: d.name,
    help: d.help,
    labelNames: d.labels,
    buckets: [...(d.buckets ?? [])],
    registers: [registry],
  });
}

export function createActuatorMetrics(registry = new Registry()) {
  const m = TUNER_METRICS;
  return {
    registry,
    versions: counter(registry, m.actuatorVersions),
    decisions: counter(registry, m.actuatorDecisions),
    acks: counter(registry, m.actuatorAcks),
    convergence: histogram(registry, m.actuatorConvergence),
    converged: gauge(registry, m.actuatorConverged),
    currentVersion: gauge(registry, m.actuatorCurrentVersion),
    rollbacks: counter(registry, m.actuatorRollbacks),
    outboxDepth: gauge(registry, m.actuatorOutboxDepth),
    kafkaErrors: counter(registry, m.actuatorKafkaErrors),
    eventsPublished: counter(registry, m.actuatorEventsPublished),
    redisErrors: counter(registry, m.actuatorRedisErrors),
  };
}
export type ActuatorMetrics = ReturnType<typeof createActuatorMetrics>;
