/**
 * Owner of the tuner's own Prometheus metric names (collector, engine, actuator; issues #9-#11).
 * Each service registers these with prom-client; nothing else spells a `meshtune_*` name of the
 * tuner. Same shape as PROXY_METRICS (a plain `as const` record of MetricDef), so dashboards and
 * docs can be generated from one place. Services add their own entries below their heading.
 */
import type { MetricDef } from "./telemetry.js";

/** Redis write latency buckets, seconds: 0.25 ms .. 2.5 s. */
export const REDIS_LATENCY_BUCKETS_SECONDS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

export const TUNER_METRICS = {
  // --- collector (issue #9) -----------------------------------------------------------------
  collectorRequests: {
    name: "meshtune_collector_requests_total",
    type: "counter",
    help: "OTLP/HTTP export requests by signal (metrics, traces) and HTTP status code",
    labels: ["signal", "code"],
  },
  collectorPoints: {
    name: "meshtune_collector_data_points_received_total",
    type: "counter",
    help: "Metric data points received, all metrics (known or not)",
    labels: [],
  },
  collectorSpans: {
    name: "meshtune_collector_spans_received_total",
    type: "counter",
    help: "Spans received, all spans (fast signals or not)",
    labels: [],
  },
  collectorRejected: {
    name: "meshtune_collector_rejected_total",
    type: "counter",
    help: "Data points, spans or requests rejected, by what and reason (malformed, too_large, unsupported_media_type, overloaded, redis_unavailable, bad_histogram, missing_label, ...)",
    labels: ["what", "reason"],
  },
  collectorIgnored: {
    name: "meshtune_collector_ignored_total",
    type: "counter",
    help: "Data points of metrics the collector does not use (unknown names, other services), counted and dropped without error",
    labels: ["what"],
  },
  collectorDecodeErrors: {
    name: "meshtune_collector_decode_errors_total",
    type: "counter",
    help: "Request bodies that could not be decoded, by encoding (protobuf, json, gzip)",
    labels: ["encoding"],
  },
  collectorSeries: {
    name: "meshtune_collector_series_tracked",
    type: "gauge",
    help: "Cumulative series whose last value this replica wrote in the last horizon (delta state lives in Redis)",
    labels: [],
  },
  collectorRedisWrite: {
    name: "meshtune_collector_redis_write_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Latency of one window write (one EVALSHA per cluster per request)",
    labels: [],
    buckets: REDIS_LATENCY_BUCKETS_SECONDS,
  },
  collectorSignals: {
    name: "meshtune_collector_fast_signals_total",
    type: "counter",
    help: "Fast signals stored, by kind",
    labels: ["kind"],
  },
  collectorJobs: {
    name: "meshtune_collector_evaluation_jobs_total",
    type: "counter",
    help: "Evaluation jobs enqueued, by trigger (interval, signal) and result (ok, failed)",
    labels: ["trigger", "result"],
  },
  collectorInFlight: {
    name: "meshtune_collector_requests_in_flight",
    type: "gauge",
    help: "Export requests being handled",
    labels: [],
  },
  // --- engine (issue #10); named by the dashboards and alert rules (issue #13) -------------
  engineDecisions: {
    name: "meshtune_engine_decisions_total",
    type: "counter",
    help: "Decisions made, by cluster, rule, kind and outcome (applied, dry_run, blocked; dry-run and guardrail-blocked decisions included)",
    labels: ["cluster", "rule", "kind", "outcome"],
  },
  engineJobs: {
    name: "meshtune_engine_jobs_total",
    type: "counter",
    help: "Evaluation jobs by result (evaluated, stale: already evaluated at that time or later, locked: another worker kept the cluster, failed)",
    labels: ["result"],
  },
  engineGuardrailHits: {
    name: "meshtune_engine_guardrail_hits_total",
    type: "counter",
    help: "Times a guardrail blocked or trimmed a decision, by cluster, guardrail name and action (blocked, trimmed)",
    labels: ["cluster", "guardrail", "action"],
  },
  engineEvaluationDuration: {
    name: "meshtune_engine_evaluation_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Time to evaluate one cluster: windows read, rules run, decisions written",
    labels: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
  engineJobLag: {
    name: "meshtune_engine_job_lag_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Queue lag: time from an evaluation job's enqueue to a worker starting it",
    labels: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  engineRedisErrors: {
    name: "meshtune_engine_redis_errors_total",
    type: "counter",
    help: "Redis commands of the engine that failed, by operation",
    labels: ["op"],
  },
  engineEndpointWeight: {
    name: "meshtune_engine_endpoint_weight",
    type: "gauge",
    help: "Weight the engine last decided for the endpoint (after guardrails; what the snapshot carries)",
    labels: ["cluster", "endpoint"],
  },
  engineEndpointScore: {
    name: "meshtune_engine_endpoint_score",
    type: "gauge",
    help: "Fleet-wide pressure score of the endpoint at the last evaluation (lower is better)",
    labels: ["cluster", "endpoint"],
  },
  enginePredictedRate: {
    name: "meshtune_engine_predicted_request_rate",
    type: "gauge",
    help: "Forecast request rate of the endpoint, requests per second, fleet-wide (what predictive scale-up sizes pools for)",
    labels: ["cluster", "endpoint"],
  },
  engineEjected: {
    name: "meshtune_engine_ejected_endpoints",
    type: "gauge",
    help: "Endpoints of the cluster the engine holds ejected",
    labels: ["cluster"],
  },
  engineEjectionCap: {
    name: "meshtune_engine_ejection_cap_endpoints",
    type: "gauge",
    help: "Most endpoints of the cluster the max-ejection-percent guardrail lets the engine eject at once",
    labels: ["cluster"],
  },
  // --- actuator (issue #11) ------------------------------------------------------------------
  actuatorVersions: {
    name: "meshtune_actuator_versions_published_total",
    type: "counter",
    help: "Snapshot versions published, by cluster and cause (decisions, rollback)",
    labels: ["cluster", "cause"],
  },
  actuatorDecisions: {
    name: "meshtune_actuator_decisions_total",
    type: "counter",
    help: "Decisions read from the engine's stream, by cluster and outcome (applied, unchanged, dry_run, blocked, unsupported)",
    labels: ["cluster", "outcome"],
  },
  actuatorAcks: {
    name: "meshtune_actuator_acks_total",
    type: "counter",
    help: "Proxy answers to snapshot versions, by cluster and status (ACK, NACK)",
    labels: ["cluster", "status"],
  },
  actuatorConvergence: {
    name: "meshtune_actuator_convergence_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Time from publishing a version until every known proxy ACKed it",
    labels: ["cluster"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  actuatorConverged: {
    name: "meshtune_actuator_version_converged",
    type: "gauge",
    help: "1 when the cluster's current version is ACKed by every known proxy, else 0",
    labels: ["cluster"],
  },
  actuatorCurrentVersion: {
    name: "meshtune_actuator_current_version",
    type: "gauge",
    help: "The cluster's current snapshot version",
    labels: ["cluster"],
  },
  actuatorRollbacks: {
    name: "meshtune_actuator_rollbacks_total",
    type: "counter",
    help: "Rollbacks to the previous version because NACKs passed the threshold",
    labels: ["cluster"],
  },
  actuatorOutboxDepth: {
    name: "meshtune_actuator_outbox_depth",
    type: "gauge",
    help: "Events waiting in the cluster's Redis outbox for Kafka",
    labels: ["cluster"],
  },
  actuatorKafkaErrors: {
    name: "meshtune_actuator_kafka_publish_errors_total",
    type: "counter",
    help: "Failed Kafka publishes of outbox events (they stay in the outbox and are retried)",
    labels: [],
  },
  actuatorEventsPublished: {
    name: "meshtune_actuator_events_published_total",
    type: "counter",
    help: "Events delivered to Kafka, by CloudEvent type",
    labels: ["type"],
  },
  actuatorRedisErrors: {
    name: "meshtune_actuator_redis_errors_total",
    type: "counter",
    help: "Redis commands that failed, by operation",
    labels: ["op"],
  },
} as const satisfies Record<string, MetricDef>;

/**
 * Series Prometheus itself adds to every scrape target (not exported by meshtune; listed so
 * alert rules and dashboards name them through contracts as well).
 */
export const SCRAPE_METRICS = {
  up: {
    name: "up",
    type: "gauge",
    help: "Prometheus: 1 when the last scrape of the target succeeded, 0 when it failed",
    labels: ["job", "instance"],
  },
} as const satisfies Record<string, MetricDef>;
