/**
 * Prometheus scrape configuration for a meshtune fleet, as data (generate.ts writes
 * infra/prometheus/prometheus.yml). Targets are the compose service names of
 * infra/compose/compose.yaml; on Kubernetes the ServiceMonitors of infra/k8s do the same job
 * and keep these job names (their `jobLabel`), so rules and dashboards work in both.
 *
 * The scrape interval is 15 s: the proxies push their own OTLP metrics to the collector every
 * 10 s for the tuner, so Prometheus is for people and alerts, and 15 s keeps four samples in
 * the 1m windows of the recording rules.
 */

/** Job names: the `job` label the rules and dashboards select on. */
export const JOBS = {
  proxy: "meshtune-proxy",
  collector: "meshtune-collector",
  engine: "meshtune-engine",
  actuator: "meshtune-actuator",
} as const;

/**
 * Where each component serves /metrics. The proxy serves it on its admin port (docs/telemetry.md);
 * the tuner components on their --metrics-port (services' --help).
 */
export const METRICS_PORTS = {
  proxy: 15000,
  /** The collector serves /metrics on its OTLP/HTTP port (meshtune collector --address). */
  collector: 4318,
  engine: 9465,
  /** The actuator serves /metrics on its admin API (meshtune actuator --admin). */
  actuator: 15090,
} as const;

export const SCRAPE_INTERVAL = "15s";

export interface ScrapeTarget {
  job: string;
  targets: string[];
}

/** Compose: one target per service name. */
export const COMPOSE_TARGETS: ScrapeTarget[] = [
  { job: JOBS.proxy, targets: [`proxy:${METRICS_PORTS.proxy}`] },
  { job: JOBS.collector, targets: [`collector:${METRICS_PORTS.collector}`] },
  { job: JOBS.engine, targets: [`engine:${METRICS_PORTS.engine}`] },
  { job: JOBS.actuator, targets: [`actuator:${METRICS_PORTS.actuator}`] },
];

/** A prometheus.yml document for the given targets and rule files. */
export function prometheusConfig(targets: ScrapeTarget[], ruleFiles: string[]): Record<string, unknown> {
  return {
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    rule_files: ruleFiles,
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: "/metrics",
      static_configs: [{ targets: t.targets }],
    })),
  };
}
