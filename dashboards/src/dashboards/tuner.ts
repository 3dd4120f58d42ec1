/**
 * Tuner health: the tuner's own components — collector ingest and rejections, queue lag, engine
 * decision latency, Redis and Kafka errors, outbox depth. docs/dashboards.md explains each panel.
 */
import type { DashboardBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { LABEL, TUNER_METRICS as T } from "@meshtune/contracts";
import { assemble, datasourceVariable, meshtuneDashboard } from "../panels.js";
import { aggBy, orZero, quantile, rate, series, sumBy } from "../promql.js";

const W = "$__rate_interval";

export const TUNER_UID = "meshtune-tuner";

export function tunerDashboard(): DashboardBuilder {
  const d = meshtuneDashboard(
    "meshtune / Tuner health",
    TUNER_UID,
    "The tuner's own health: collector, evaluation queue, engine, actuator, Redis and Kafka.",
  ).withVariable(datasourceVariable());
  return assemble(d, [
    {
      title: "Collector",
      panels: [
        {
          title: "Ingest rate",
          description: "Metric data points and spans the collectors receive per second over OTLP/HTTP, all replicas.",
          unit: "cps",
          queries: [
            { expr: sumBy([], rate(T.collectorPoints, "", W)), legend: "data points" },
            { expr: sumBy([], rate(T.collectorSpans, "", W)), legend: "spans" },
          ],
        },
        {
          title: "Export requests by status",
          description: "OTLP/HTTP export requests per second by signal and HTTP status code (200 = accepted).",
          unit: "reqps",
          queries: [
            { expr: sumBy(["signal", "code"], rate(T.collectorRequests, "", W)), legend: "{{signal}} {{code}}" },
          ],
        },
        {
          title: "Rejections by reason",
          description:
            "Data points, spans or requests the collector rejected per second, by what and reason (malformed, too_large, overloaded, redis_unavailable, ...). Rejected evidence never reaches the engine.",
          unit: "cps",
          queries: [
            {
              expr: orZero(sumBy(["what", "reason"], rate(T.collectorRejected, "", W))),
              legend: "{{what}} {{reason}}",
            },
          ],
        },
        {
          title: "Window write latency p99",
          description:
            "Latency of one window write to Redis (one script call per cluster per export request), per collector.",
          unit: "s",
          queries: [{ expr: quantile(0.99, T.collectorRedisWrite, ["instance"], "", W), legend: "{{instance}}" }],
        },
      ],
    },
    {
      title: "Evaluation queue and engine",
      panels: [
        {
          title: "Evaluation jobs enqueued",
          description:
            "Evaluation jobs the collectors put on the BullMQ queue per second, by trigger (interval, signal) and result.",
          unit: "ops",
          queries: [
            {
              expr: orZero(sumBy(["trigger", "result"], rate(T.collectorJobs, "", W))),
              legend: "{{trigger}} {{result}}",
            },
          ],
        },
        {
          title: "Queue lag p50 / p99",
          description:
            "Time from a job's enqueue to an engine worker starting it. Growing lag means too few engine workers.",
          unit: "s",
          queries: [
            { expr: quantile(0.5, T.engineJobLag, [], "", W), legend: "p50" },
            { expr: quantile(0.99, T.engineJobLag, [], "", W), legend: "p99" },
          ],
        },
        {
          title: "Decision latency p50 / p99",
          description:
            "Time the engine takes to evaluate one cluster: read windows, run rules, write decisions (goal: p99 <= 100 ms).",
          unit: "s",
          queries: [
            { expr: quantile(0.5, T.engineEvaluationDuration, [], "", W), legend: "p50" },
            { expr: quantile(0.99, T.engineEvaluationDuration, [], "", W), legend: "p99" },
          ],
        },
        {
          title: "Engine jobs by result",
          description:
            "Evaluation jobs the engine workers ran per second: evaluated, stale (already evaluated at that time or later), locked (another worker had the cluster), failed.",
          unit: "ops",
          queries: [{ expr: orZero(sumBy(["result"], rate(T.engineJobs, "", W))), legend: "{{result}}" }],
        },
        {
          title: "Snapshot versions published",
          description: "Snapshot versions the actuator published per minute, by cause (decisions, rollback).",
          unit: "opm",
          queries: [{ expr: orZero(`${sumBy(["cause"], rate(T.actuatorVersions, "", W))} * 60`), legend: "{{cause}}" }],
        },
      ],
    },
    {
      title: "Redis, Kafka, outbox",
      panels: [
        {
          title: "Redis errors",
          description:
            "Failed Redis commands per second by component and operation, and collector requests rejected because Redis was unavailable.",
          unit: "ops",
          queries: [
            { expr: orZero(sumBy(["op"], rate(T.engineRedisErrors, "", W))), legend: "engine {{op}}" },
            { expr: orZero(sumBy(["op"], rate(T.actuatorRedisErrors, "", W))), legend: "actuator {{op}}" },
            {
              expr: orZero(sumBy([], rate(T.collectorRejected, `reason="redis_unavailable"`, W))),
              legend: "collector rejected (redis_unavailable)",
            },
          ],
        },
        {
          title: "Kafka publishes and errors",
          description:
            "Decision and config events the actuator delivered to Kafka per second by type, and failed publishes (the events stay in the outbox and are retried).",
          unit: "ops",
          queries: [
            { expr: orZero(sumBy(["type"], rate(T.actuatorEventsPublished, "", W))), legend: "published {{type}}" },
            { expr: sumBy([], rate(T.actuatorKafkaErrors, "", W)), legend: "errors" },
          ],
        },
        {
          title: "Outbox depth",
          description:
            "Events waiting in each cluster's Redis outbox for Kafka. Flat near 0 is healthy; a growing outbox means Kafka is down or slow.",
          unit: "short",
          width: 24,
          queries: [{ expr: aggBy("max", [LABEL.cluster], series(T.actuatorOutboxDepth)), legend: "{{cluster}}" }],
        },
      ],
    },
  ]);
}
