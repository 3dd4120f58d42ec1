/**
 * Owner of every metric name, label, span name and attribute name the proxy exports (issue #6).
 * Adapters (the proxy's OTel adapter, the collector, dashboards) read this catalog; nothing
 * else spells a metric or attribute name. docs/telemetry.md is generated from it
 * (packages/contracts/scripts/gen-telemetry-docs.mjs), so the README cannot drift either.
 *
 * Metric names follow Prometheus conventions (base units, `_seconds`, `_total`) and are used
 * verbatim as OTel instrument names, so the OTLP stream and /metrics carry the same names and
 * an OTLP->Prometheus translation keeps them (it only appends a suffix that is missing).
 */

/** service.name of the proxy's resource. */
export const PROXY_SERVICE_NAME = "meshtune-proxy";

/** meshtune's own span attributes; stable HTTP semconv names come from @opentelemetry/semantic-conventions. */
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
  configVersion: "meshtune.config.version",
  configKind: "meshtune.config.kind",
  configResult: "meshtune.config.result",
  configSource: "meshtune.config.source",
  warmupOutcome: "meshtune.warmup.outcome",
  healthResult: "meshtune.health.result",
  ejectReason: "meshtune.eject.reason",
  ejectCount: "meshtune.eject.count",
  ejectDurationMs: "meshtune.eject.duration_ms",
  ejectedForMs: "meshtune.eject.ejected_for_ms",
  ejectEvidence: "meshtune.eject.evidence",
  errorCause: "meshtune.error.cause",
  detail: "meshtune.detail",
} as const;

/** What each meshtune attribute means (docs/telemetry.md; the compiler makes every attribute have one). */
export const ATTR_HELP: Record<keyof typeof ATTR, string> = {
  cluster: "Cluster (named external service) the request or event belongs to",
  endpoint: "Endpoint key `address:port` (`[v6]:port` for IPv6)",
  zone: "Zone of the endpoint, when discovery gave one",
  lbPolicy: "Load-balancing policy of the cluster (`round_robin`, `least_request`, ...)",
  lbScore: "Score the load balancer gave the picked endpoint (lower is better; least_request only)",
  poolWaitMs: "Time the attempt waited for a pooled connection, ms",
  connectionReused: "`true` when the attempt ran on a connection that had served a request before",
  connectMs: "TCP (+TLS) connect time of the connection, ms; only on attempts that used a new connection",
  retryCount: "Retries before this attempt (0 for the first attempt); on the server span: retries of the request",
  configVersion: "Version of the configuration or control snapshot",
  configKind: "`config` (a full proxy configuration) or `control` (a control-plane snapshot)",
  configResult: "`ACK` (applied) or `NACK` (rejected; the last good configuration stays)",
  configSource: "Where the configuration came from (file path and trigger, `api`, ...)",
  warmupOutcome: "Warm-up connection outcome: `connect_failed` or `health_failed`",
  healthResult: "Active health check result: `failure` or `timeout`",
  ejectReason:
    "Why the endpoint was ejected (`consecutive_5xx`, `consecutive_gateway_error`, `consecutive_local_origin_failure`, `success_rate`, `failure_percentage`, `latency`, or an external reason)",
  ejectCount: "Backoff multiplier after this ejection (ejection time = base × this, capped)",
  ejectDurationMs: "How long the endpoint stays ejected, ms",
  ejectedForMs: "How long the endpoint was ejected, ms (on un-ejection)",
  ejectEvidence: "The numbers behind the ejection as JSON (success rate, threshold, latency, median, ...)",
  errorCause: "The proxy's error cause (`connect_failed`, `upstream_timeout`, `upstream_reset`, ...)",
  detail: "Human-readable detail of a failure or rejection",
};

/**
 * Resource attributes. Names are OTel semantic conventions; the incubating ones (k8s.*, cloud.*)
 * are copied here as OTel recommends for unstable names, so a semconv release cannot rename them
 * under us. `env` lists the environment variables read, first one set wins (Kubernetes sets them
 * through the downward API: `valueFrom.fieldRef.fieldPath: metadata.name`, ...).
 */
export const PROXY_RESOURCE = {
  serviceName: { name: "service.name", source: `always \`${PROXY_SERVICE_NAME}\`` },
  serviceInstanceId: {
    name: "service.instance.id",
    source: "proxy id: `--id`, else `proxy.id` in the config, else `<hostname>-<pid>`",
  },
  zone: { name: "cloud.availability_zone", source: "`proxy.zone` in the config, when set" },
  k8sPodName: { name: "k8s.pod.name", source: "environment", env: ["KUBERNETES_POD_NAME", "POD_NAME"] },
  k8sNamespace: { name: "k8s.namespace.name", source: "environment", env: ["POD_NAMESPACE", "KUBERNETES_NAMESPACE"] },
  k8sNodeName: { name: "k8s.node.name", source: "environment", env: ["NODE_NAME", "KUBERNETES_NODE_NAME"] },
  k8sPodUid: { name: "k8s.pod.uid", source: "environment", env: ["POD_UID"] },
} as const satisfies Record<string, { name: string; source: string; env?: readonly string[] }>;

/** Prometheus label names (snake_case, no dots); also the OTel metric attribute names. */
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
  kind: "kind",
  signal: "signal",
} as const;

export type MetricType = "counter" | "gauge" | "histogram";
export interface MetricDef {
  name: string;
  type: MetricType;
  help: string;
  /** Base unit of the value; histograms of time are in seconds. */
  unit?: "seconds" | "bytes" | "";
  labels: readonly string[];
  /** Histogram bucket upper bounds (in `unit`). */
  buckets?: readonly number[];
  /** Where the value comes from (docs). */
  source?: string;
}

const ep = [LABEL.cluster, LABEL.endpoint] as const;

/** Latency buckets, seconds: 0.5 ms .. 10 s (a sidecar's added latency sits in the low ms). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;
/** Pool-wait and connect buckets, seconds: 0.1 ms .. 5 s (a warm pool waits ~0; a WAN handshake 100–300 ms). */
export const SHORT_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

/** Proxy metrics (issue #6). Histograms use seconds. */
export const PROXY_METRICS = {
  downstreamRequests: {
    name: "meshtune_proxy_requests_total",
    type: "counter",
    help: "Downstream requests answered by the proxy, by cluster and status class ('error' when the client got no response)",
    labels: [LABEL.cluster, LABEL.statusClass],
    source: "every downstream request, at its end (cluster is empty when no route matched)",
  },
  downstreamDuration: {
    name: "meshtune_proxy_request_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Downstream request latency through the proxy, retries included",
    labels: [LABEL.cluster],
    buckets: LATENCY_BUCKETS_SECONDS,
    source: "every downstream request, at its end",
  },
  requests: {
    name: "meshtune_proxy_upstream_requests_total",
    type: "counter",
    help: "Upstream request attempts by endpoint and status class (2xx..5xx, or 'error' when no response)",
    labels: [...ep, LABEL.statusClass],
    source: "every upstream attempt, at its end",
  },
  requestDuration: {
    name: "meshtune_proxy_upstream_request_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Upstream attempt latency, from the endpoint pick to the end of the response (pool wait included)",
    labels: ep,
    buckets: LATENCY_BUCKETS_SECONDS,
    source: "every upstream attempt, at its end",
  },
  inFlight: {
    name: "meshtune_proxy_upstream_in_flight_requests",
    type: "gauge",
    help: "Requests in flight to an endpoint",
    labels: ep,
    source: "read at collection time",
  },
  poolConnections: {
    name: "meshtune_proxy_pool_connections",
    type: "gauge",
    help: "Pool connections by state (idle, active, connecting)",
    labels: [...ep, LABEL.state],
    source: "read at collection time",
  },
  poolPending: {
    name: "meshtune_proxy_pool_pending_requests",
    type: "gauge",
    help: "Requests waiting for a pool connection",
    labels: ep,
    source: "read at collection time",
  },
  poolWait: {
    name: "meshtune_proxy_pool_wait_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "Time an attempt waited for a pooled connection (attempts that got one)",
    labels: ep,
    buckets: SHORT_BUCKETS_SECONDS,
    source: "every upstream attempt that acquired a connection",
  },
  connectDuration: {
    name: "meshtune_proxy_connect_duration_seconds",
    type: "histogram",
    unit: "seconds",
    help: "TCP (+TLS) connect latency of successful connects",
    labels: ep,
    buckets: SHORT_BUCKETS_SECONDS,
    source: "pool connect_ok events (warm-up, refill, demand, health, scale-up)",
  },
  connectFailures: {
    name: "meshtune_proxy_connect_failures_total",
    type: "counter",
    help: "Failed connects by reason (refused, timeout, tls, reset, other)",
    labels: [...ep, LABEL.reason],
    source: "pool connect_failed events",
  },
  warmup: {
    name: "meshtune_proxy_warmup_connections_total",
    type: "counter",
    help: "Warm-up connection outcomes (ready, connect_failed, health_failed)",
    labels: [...ep, LABEL.outcome],
    source: "pool warmup events",
  },
  healthChecks: {
    name: "meshtune_proxy_health_checks_total",
    type: "counter",
    help: "Active health check results (success, failure, timeout), warm-up checks on new connections included",
    labels: [...ep, LABEL.result],
    source: "pool health events",
  },
  ejections: {
    name: "meshtune_proxy_ejections_total",
    type: "counter",
    help: "Outlier ejections by reason",
    labels: [...ep, LABEL.reason],
    source: "outlier ejected events",
  },
  healthFlags: {
    name: "meshtune_proxy_endpoint_health_flag",
    type: "gauge",
    help: "1 when the named health flag (failed_active_hc, ejected_outlier, failed_warmup, draining, ejected_control_plane) is set on the endpoint, else 0",
    labels: [...ep, LABEL.flag],
    source: "read at collection time",
  },
  lbPicks: {
    name: "meshtune_proxy_lb_picks_total",
    type: "counter",
    help: "Times the load balancer picked the endpoint",
    labels: [...ep, LABEL.policy],
    source: "read at collection time from the endpoint's pick counter (restarts at 0 when an endpoint is re-added)",
  },
  lbScore: {
    name: "meshtune_proxy_lb_score",
    type: "gauge",
    help: "Current pool-aware load-balancer score (lower is better)",
    labels: ep,
    source: "read at collection time",
  },
  configVersion: {
    name: "meshtune_proxy_config_version",
    type: "gauge",
    help: "Version of the applied proxy configuration",
    labels: [],
    source: "read at collection time",
  },
  controlVersion: {
    name: "meshtune_proxy_control_version",
    type: "gauge",
    help: "Version of the applied control-plane snapshot (-1 before the first)",
    labels: [],
    source: "read at collection time",
  },
  configApplies: {
    name: "meshtune_proxy_config_applies_total",
    type: "counter",
    help: "Configuration and control-snapshot applications by kind (config, control) and result (ACK, NACK)",
    labels: [LABEL.kind, LABEL.result],
    source: "every apply",
  },
  controlRefused: {
    name: "meshtune_proxy_control_snapshots_refused_total",
    type: "counter",
    help: "Control snapshots read from Redis and refused before anything was applied, by reason (unsigned, bad_signature, unknown_key, wrong_cluster, malformed, ...); each stored snapshot counts once",
    labels: [LABEL.reason],
    source: "the control client's signature check",
  },
  telemetryDropped: {
    name: "meshtune_proxy_telemetry_dropped_total",
    type: "counter",
    help: "Spans dropped by the proxy's bounded export queues, by signal (fast, traces) and reason (queue_full, export_failed)",
    labels: [LABEL.signal, LABEL.reason],
    source: "the proxy's span processors",
  },
} as const satisfies Record<string, MetricDef>;

/** `status_class` label values. */
export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 100 || status > 599) return "error";
  return `${Math.floor(status / 100)}xx`;
}

export type SpanKindName = "server" | "client" | "internal";
export interface SpanDef {
  /** Span name; `{http.request.method}` means the request's method (HTTP semconv). */
  name: string;
  kind: SpanKindName;
  help: string;
  /** Fast failure signal: exported at once by its own always-sampled pipeline, not batched. */
  fast: boolean;
  /** Every attribute the span may carry (semconv names spelled out for the docs; the proxy's test checks them). */
  attributes: readonly string[];
}

/** The stable HTTP semconv attributes on the request spans (@opentelemetry/semantic-conventions). */
const HTTP_SERVER_ATTRS = [
  "http.request.method",
  "http.response.status_code",
  "url.path",
  "url.scheme",
  "server.address",
  "client.address",
  "network.protocol.version",
  "error.type",
] as const;
const HTTP_CLIENT_ATTRS = [
  "http.request.method",
  "http.response.status_code",
  "server.address",
  "server.port",
  "network.peer.address",
  "network.peer.port",
  "http.request.resend_count",
  "error.type",
] as const;
const EP_ATTRS = [ATTR.cluster, ATTR.endpoint, ATTR.zone] as const;

export const PROXY_SPANS = {
  request: {
    name: "{http.request.method}",
    kind: "server",
    help: "One downstream request through the proxy; parent of its upstream attempts. Continues the caller's W3C trace context.",
    fast: false,
    attributes: [...HTTP_SERVER_ATTRS, ATTR.cluster, ATTR.retryCount, ATTR.errorCause],
  },
  attempt: {
    name: "{http.request.method}",
    kind: "client",
    help: "One upstream attempt (a retry is a new attempt on another endpoint); its context is sent upstream as `traceparent`",
    fast: false,
    attributes: [
      ...HTTP_CLIENT_ATTRS,
      ...EP_ATTRS,
      ATTR.lbPolicy,
      ATTR.lbScore,
      ATTR.poolWaitMs,
      ATTR.connectionReused,
      ATTR.connectMs,
      ATTR.retryCount,
      ATTR.errorCause,
      ATTR.detail,
    ],
  },
  warmupFailure: {
    name: "meshtune.warmup.failure",
    kind: "internal",
    help: "A warm-up connection failed to connect or failed its health check",
    fast: true,
    attributes: [...EP_ATTRS, ATTR.warmupOutcome, ATTR.detail],
  },
  healthCheckFailure: {
    name: "meshtune.health_check.failure",
    kind: "internal",
    help: "An active health check failed; the span lasts as long as the check did",
    fast: true,
    attributes: [...EP_ATTRS, ATTR.healthResult, "http.response.status_code", ATTR.detail],
  },
  ejection: {
    name: "meshtune.outlier.ejection",
    kind: "internal",
    help: "Outlier detection ejected an endpoint",
    fast: true,
    attributes: [...EP_ATTRS, ATTR.ejectReason, ATTR.ejectCount, ATTR.ejectDurationMs, ATTR.ejectEvidence, ATTR.detail],
  },
  unejection: {
    name: "meshtune.outlier.unejection",
    kind: "internal",
    help: "An ejected endpoint came back",
    fast: true,
    attributes: [...EP_ATTRS, ATTR.ejectReason, ATTR.ejectedForMs],
  },
  configApply: {
    name: "meshtune.config.apply",
    kind: "internal",
    help: "A configuration or control snapshot was applied (ACK) or rejected (NACK)",
    fast: true,
    attributes: [ATTR.configKind, ATTR.configVersion, ATTR.configResult, ATTR.configSource, ATTR.detail],
  },
} as const satisfies Record<string, SpanDef>;
