/**
 * Owner of every metric name, label and span attribute name. Adapters (prom-client, OTel)
 * read this catalog; nothing else spells a metric name. Names follow Prometheus conventions
 * (base units, `_seconds`, `_total`) so that OTLP->Prometheus translation keeps them.
 */

/** meshtune's own span/metric attributes; stable HTTP semconv names come from @opentelemetry/semantic-conventions. */
export const ATTR = {
  cluster: "meshtune.cluster",
  endpoint: "meshtune.endpoint",
  zone: "meshtune.zone",
  lbPolicy: "meshtune.lb.policy",
  lbScore: "meshtune.lb.score",
  poolWaitMs: "meshtune.pool.wait_ms",
  connectionReused: "meshtune.connection.reused",
  connectMs: "meshtune.connect_ms",
  retryCount: "meshtune.retry.count",
  proxyId: "meshtune.proxy.id",
  configVersion: "meshtune.config.version",
  warmupOutcome: "meshtune.warmup.outcome",
  ejectReason: "meshtune.eject.reason",
  errorCause: "meshtune.error.cause",
} as const;

/** Prometheus label names (snake_case, no dots). */
export const LABEL = {
  cluster: "cluster",
  endpoint: "endpoint",
  zone: "zone",
  statusClass: "status_class",
  reason: "reason",
  outcome: "outcome",
  state: "state",
  flag: "flag",
  policy: "policy",
  result: "result",
} as const;

export type MetricType = "counter" | "gauge" | "histogram";
export interface MetricDef {
  name: string;
  type: MetricType;
  help: string;
  unit?: "seconds" | "bytes" | "";
  labels: readonly string[];
}

const ep = [LABEL.cluster, LABEL.endpoint] as const;

/** Proxy metrics (issue #6). Histograms use seconds. */
export const PROXY_METRICS = {
  requests: {
    name: "meshtune_proxy_upstream_requests_total",
    type: "counter",
    help: "Upstream requests by endpoint and status class (2xx..5xx, or 'error' when no response)",
    labels: [...ep, LABEL.statusClass],
  },
  requestDuration: {
    name: "meshtune_proxy_upstream_request_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Upstream request latency, from dispatch to response end",
    labels: ep,
  },
  inFlight: {
    name: "meshtune_proxy_upstream_in_flight_requests",
    type: "gauge",
    help: "Requests in flight to an endpoint",
    labels: ep,
  },
  poolConnections: {
    name: "meshtune_proxy_pool_connections",
    type: "gauge",
    help: "Pool connections by state (idle, active, connecting)",
    labels: [...ep, LABEL.state],
  },
  poolPending: {
    name: "meshtune_proxy_pool_pending_requests",
    type: "gauge",
    help: "Requests waiting for a pool connection",
    labels: ep,
  },
  poolWait: {
    name: "meshtune_proxy_pool_wait_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Time a request waited for a connection",
    labels: ep,
  },
  connectDuration: {
    name: "meshtune_proxy_connect_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "TCP (+TLS) connect latency",
    labels: ep,
  },
  connectFailures: {
    name: "meshtune_proxy_connect_failures_total",
    type: "counter",
    help: "Failed connects by reason (refused, timeout, tls, reset, other)",
    labels: [...ep, LABEL.reason],
  },
  warmup: {
    name: "meshtune_proxy_warmup_connections_total",
    type: "counter",
    help: "Warm-up connection outcomes (ready, connect_failed, health_failed)",
    labels: [...ep, LABEL.outcome],
  },
  healthChecks: {
    name: "meshtune_proxy_health_checks_total",
    type: "counter",
    help: "Active health check results (success, failure, timeout)",
    labels: [...ep, LABEL.result],
  },
  ejections: {
    name: "meshtune_proxy_ejections_total",
    type: "counter",
    help: "Outlier ejections by reason",
    labels: [...ep, LABEL.reason],
  },
  healthFlags: {
    name: "meshtune_proxy_endpoint_health_flag",
    type: "gauge",
    help: "1 when the named health flag is set on the endpoint",
    labels: [...ep, LABEL.flag],
  },
  lbPicks: {
    name: "meshtune_proxy_lb_picks_total",
    type: "counter",
    help: "Times the load balancer picked the endpoint",
    labels: [...ep, LABEL.policy],
  },
  lbScore: {
    name: "meshtune_proxy_lb_score",
    type: "gauge",
    help: "Current load-balancer score (lower is better)",
    labels: ep,
  },
  configVersion: {
    name: "meshtune_proxy_config_version",
    type: "gauge",
    help: "Version of the applied configuration snapshot",
    labels: [],
  },
  telemetryDropped: {
    name: "meshtune_proxy_telemetry_dropped_total",
    type: "counter",
    help: "Fast failure signals dropped because the bounded queue was full",
    labels: [],
  },
} as const satisfies Record<string, MetricDef>;
