/**
 * Owner of the proxy configuration contract: clusters, endpoints, discovery, load-balancer
 * policy, pool, warm-up, health checks, outlier detection, retries and routes.
 *
 * Defaults are chosen to be safe for a sidecar in front of an external service; each one
 * that is not obvious says where it comes from. Durations are milliseconds (suffix `Ms`).
 */
import { z } from "zod";
import { CONFIG_API_VERSION } from "./version.js";

const port = z.number().int().min(1).max(65535);
const ms = z.number().int().min(0);
const positiveMs = z.number().int().min(1);
const percent = z.number().min(0).max(100);

export const EndpointSchema = z
  .object({
    address: z.string().min(1).describe("IP address or hostname of the endpoint"),
    port,
    weight: z.number().int().min(0).max(1000).default(1).describe("Static weight; 0 takes it out of rotation"),
    zone: z.string().min(1).optional().describe("Locality zone, for zone-aware balancing"),
    sni: z.string().min(1).optional().describe("TLS server name; defaults to the cluster's tls.sni or the address"),
  })
  .strict();
export type Endpoint = z.infer<typeof EndpointSchema>;

export const DiscoverySchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("static"),
      endpoints: z.array(EndpointSchema).min(1),
    })
    .strict(),
  z
    .object({
      type: z.literal("strict_dns"),
      hostname: z.string().min(1),
      port,
      weight: z.number().int().min(0).max(1000).default(1),
      zone: z.string().min(1).optional(),
      sni: z.string().min(1).optional(),
      refreshIntervalMs: positiveMs.default(5_000),
      family: z.enum(["any", "ipv4", "ipv6"]).default("any"),
    })
    .strict(),
  z
    .object({
      type: z.literal("pushed"),
      /** Endpoints to use until the control plane pushes a set. */
      initialEndpoints: z.array(EndpointSchema).default([]),
    })
    .strict(),
]);
export type Discovery = z.infer<typeof DiscoverySchema>;

export const LbPolicySchema = z.enum(["round_robin", "weighted_round_robin", "least_request", "ring_hash", "random"]);
export type LbPolicy = z.infer<typeof LbPolicySchema>;

export const SlowStartSchema = z
  .object({
    /** 0 disables slow start. Envoy's slow_start_config.slow_start_window. */
    windowMs: ms.default(0),
    /** Envoy's aggression: weight factor = (elapsed/window)^(1/aggression). */
    aggression: z.number().positive().default(1),
    /** Floor of the ramp as a percent of full weight (Envoy min_weight_percent, default 10). */
    minWeightPercent: percent.default(10),
  })
  .strict();

export const ZoneAwareSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Spill over when fewer than this percent of local-zone endpoints are available. */
    minHealthyPercent: percent.default(70),
    /** Spill over when the local zone's mean in-flight per endpoint exceeds this (0 = never). */
    maxInFlightPerEndpoint: z.number().int().min(0).default(0),
  })
  .strict();

export const LoadBalancerSchema = z
  .object({
    policy: LbPolicySchema.default("least_request"),
    /** Power of two choices by default (Mitzenmacher 2001). */
    choiceCount: z.number().int().min(2).max(10).default(2),
    /** Envoy active_request_bias: weight / (inFlight + 1)^bias. */
    activeRequestBias: z.number().min(0).max(10).default(1),
    ringHash: z
      .object({
        header: z.string().min(1).default("x-user-id"),
        minRingSize: z.number().int().min(16).max(1_048_576).default(1024),
      })
      .strict()
      .prefault({}),
    zoneAware: ZoneAwareSchema.prefault({}),
    slowStart: SlowStartSchema.prefault({}),
  })
  .strict();
export type LoadBalancerConfig = z.infer<typeof LoadBalancerSchema>;

export const PoolSchema = z
  .object({
    maxConnections: z.number().int().min(1).default(64),
    maxPendingRequests: z.number().int().min(0).default(256),
    /** 0 = unlimited. */
    maxRequestsPerConnection: z.number().int().min(0).default(0),
    idleTimeoutMs: positiveMs.default(60_000),
    connectTimeoutMs: positiveMs.default(1_000),
    /** Warm connections kept per endpoint: the floor Envoy lacks (DESIGN.md section 7). */
    minWarm: z.number().int().min(0).default(2),
    /** Refill asynchronously when idle connections drop below this. */
    refillThreshold: z.number().int().min(0).default(1),
    /** Max time a request waits in the pending queue before a 503. */
    pendingTimeoutMs: positiveMs.default(1_000),
  })
  .strict();
export type PoolConfig = z.infer<typeof PoolSchema>;

export const WarmupSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** /ready turns true when the target is met or this deadline passes. */
    deadlineMs: positiveMs.default(5_000),
    /** Run the health check on each pre-connected connection before it counts as ready. */
    healthCheckOnConnection: z.boolean().default(true),
  })
  .strict();
export type WarmupConfig = z.infer<typeof WarmupSchema>;

export const HealthCheckSchema = z
  .object({
    enabled: z.boolean().default(true),
    path: z.string().startsWith("/").default("/health"),
    intervalMs: positiveMs.default(5_000),
    timeoutMs: positiveMs.default(1_000),
    healthyThreshold: z.number().int().min(1).default(2),
    unhealthyThreshold: z.number().int().min(1).default(3),
    expectedStatuses: z
      .array(z.tuple([z.number().int().min(100).max(599), z.number().int().min(100).max(599)]))
      .min(1)
      .default([[200, 299]])
      .describe("Inclusive status ranges counted as healthy"),
    host: z.string().optional().describe("Host header for the check; defaults to the endpoint's SNI or address"),
  })
  .strict();
export type HealthCheckConfig = z.infer<typeof HealthCheckSchema>;

export const OutlierSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Envoy defaults: 5 consecutive 5xx, 5 gateway errors, 5 local-origin failures. */
    consecutive5xx: z.number().int().min(0).default(5),
    consecutiveGatewayErrors: z.number().int().min(0).default(5),
    consecutiveLocalOriginFailures: z.number().int().min(0).default(5),
    intervalMs: positiveMs.default(10_000),
    baseEjectionTimeMs: positiveMs.default(30_000),
    maxEjectionTimeMs: positiveMs.default(300_000),
    maxEjectionPercent: percent.default(10),
    successRate: z
      .object({
        enabled: z.boolean().default(true),
        minimumHosts: z.number().int().min(1).default(5),
        requestVolume: z.number().int().min(1).default(100),
        /** Eject when below mean - stdevFactor * stdev (Envoy: 1900 / 1000 = 1.9). */
        stdevFactor: z.number().positive().default(1.9),
      })
      .strict()
      .prefault({}),
    failurePercentage: z
      .object({
        enabled: z.boolean().default(false),
        threshold: percent.default(85),
        minimumHosts: z.number().int().min(1).default(5),
        requestVolume: z.number().int().min(1).default(50),
      })
      .strict()
      .prefault({}),
    latency: z
      .object({
        enabled: z.boolean().default(false),
        /** Eject when an endpoint's mean latency exceeds the cluster median by this factor. */
        factor: z.number().min(1).default(3),
        minimumHosts: z.number().int().min(1).default(3),
        requestVolume: z.number().int().min(1).default(50),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type OutlierConfig = z.infer<typeof OutlierSchema>;

export const RetrySchema = z
  .object({
    maxRetries: z.number().int().min(0).max(5).default(1),
    /** Retries allowed as a percent of active requests (Envoy/Finagle retry budget). */
    budgetPercent: percent.default(20),
    /** Always allow this many concurrent retries regardless of the budget (Envoy min_retry_concurrency). */
    minRetryConcurrency: z.number().int().min(0).default(3),
    /** Retried only for idempotent methods. */
    retryOn: z
      .array(z.enum(["connect-failure", "reset", "5xx", "gateway-error", "timeout"]))
      .default(["connect-failure", "reset", "gateway-error"]),
  })
  .strict();
export type RetryConfig = z.infer<typeof RetrySchema>;

export const TlsSchema = z
  .object({
    enabled: z.boolean().default(false),
    sni: z.string().min(1).optional(),
    caFile: z.string().min(1).optional().describe("PEM CA bundle for verifying the upstream"),
    rejectUnauthorized: z.boolean().default(true),
    /** ALPN offered upstream; h2 is used only when the server picks it. */
    alpn: z
      .array(z.enum(["h2", "http/1.1"]))
      .min(1)
      .default(["http/1.1"]),
    sessionReuse: z.boolean().default(true),
  })
  .strict();
export type TlsConfig = z.infer<typeof TlsSchema>;

/**
 * Switches and tuning for the four LB <-> pool coordinations (DESIGN.md section 2, issue #5).
 * Each can be turned off so its effect can be measured (bench/).
 */
export const CoordinationSchema = z
  .object({
    /** least_request warms >= 1 connection per endpoint; weighted policies warm in proportion to weight; zone-aware warms the local zone first. */
    lbDirectedWarmup: z.boolean().default(true),
    /** A connect timeout, TLS failure or failed health check during warm-up takes the endpoint out before the first request. */
    warmupFailureEjects: z.boolean().default(true),
    /** least_request scores by peak-EWMA latency x load plus pool pressure (docs/decisions/0004-pool-aware-score.md). */
    poolAwareScore: z.boolean().default(true),
    /** Forecast each endpoint's request rate (Holt) and pre-connect ahead of the need. */
    predictiveScaleUp: z.boolean().default(true),
    /** Time constant of the peak-EWMA latency decay (Linkerd uses 10 s). */
    latencyDecayMs: positiveMs.default(10_000),
    /** How often the predictive scaler re-forecasts. */
    scaleIntervalMs: positiveMs.default(250),
    /** Connections kept ready = ceil(forecast rate x latency x headroom) (Little's law with margin). */
    scaleHeadroom: z.number().min(1).max(10).default(1.5),
  })
  .strict();
export type CoordinationConfig = z.infer<typeof CoordinationSchema>;

export const ClusterSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "lowercase letters, digits, '.', '_' or '-' (max 63)"),
    discovery: DiscoverySchema,
    tls: TlsSchema.prefault({}),
    lb: LoadBalancerSchema.prefault({}),
    pool: PoolSchema.prefault({}),
    warmup: WarmupSchema.prefault({}),
    healthCheck: HealthCheckSchema.prefault({}),
    outlier: OutlierSchema.prefault({}),
    retry: RetrySchema.prefault({}),
    coordination: CoordinationSchema.prefault({}),
    /** Per-attempt upstream timeout; exceeding it answers 504. */
    requestTimeoutMs: positiveMs.default(15_000),
  })
  .strict();
export type Cluster = z.infer<typeof ClusterSchema>;
export type ClusterInput = z.input<typeof ClusterSchema>;

export const RouteSchema = z
  .object({
    match: z
      .object({
        host: z.string().min(1).describe("Host header to match (port ignored); '*' matches any"),
        pathPrefix: z.string().startsWith("/").default("/"),
      })
      .strict(),
    cluster: z.string().min(1),
  })
  .strict();
export type Route = z.infer<typeof RouteSchema>;

export const ListenerSchema = z
  .object({ host: z.string().min(1).default("127.0.0.1"), port: z.number().int().min(0).max(65535) })
  .strict();

export const ProxyConfigSchema = z
  .object({
    apiVersion: z.literal(CONFIG_API_VERSION),
    kind: z.literal("ProxyConfig"),
    proxy: z
      .object({
        id: z.string().min(1).optional().describe("Defaults to hostname-pid"),
        zone: z.string().min(1).optional(),
        listener: ListenerSchema.prefault({ port: 15001 }),
        admin: ListenerSchema.prefault({ port: 15000 }),
        /** SIGTERM waits this long for in-flight requests before closing. */
        drainTimeoutMs: positiveMs.default(10_000),
        /** Worker processes sharing the listener (1 = one event loop; "auto" = one per core). */
        workers: z
          .union([z.number().int().min(1).max(64), z.literal("auto")])
          .default(1)
          .describe('Worker processes sharing the listener; "auto" = one per core'),
        /** Admission control: answer a fast 503 (x-meshtune-error: overloaded) instead of queueing into timeouts. */
        admission: z
          .object({
            enabled: z.boolean().default(true),
            /** Requests in flight through the listener above which new ones are refused. */
            maxInFlight: z.number().int().min(1).default(2_000),
            /** Event-loop lag (EWMA, ms) above which new requests are refused. */
            maxEventLoopLagMs: positiveMs.default(150),
          })
          .strict()
          .prefault({}),
        /** Listener timeouts against slow clients (slowloris): whole header block, whole request. */
        headersTimeoutMs: positiveMs.default(10_000),
        requestTimeoutMs: positiveMs.default(60_000),
        /** Largest request header block accepted (bytes); larger gets 431. */
        maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
      })
      .strict()
      .prefault({}),
    routes: z.array(RouteSchema).default([]),
    clusters: z.array(ClusterSchema).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.clusters.forEach((c, i) => {
      if (names.has(c.name)) {
        ctx.addIssue({ code: "custom", path: ["clusters", i, "name"], message: `duplicate cluster name '${c.name}'` });
      }
      names.add(c.name);
      if (c.pool.minWarm > c.pool.maxConnections) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", i, "pool", "minWarm"],
          message: `minWarm (${c.pool.minWarm}) exceeds maxConnections (${c.pool.maxConnections})`,
        });
      }
      if (c.healthCheck.timeoutMs > c.healthCheck.intervalMs) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", i, "healthCheck", "timeoutMs"],
          message: "timeoutMs must not exceed intervalMs",
        });
      }
      if (c.outlier.baseEjectionTimeMs > c.outlier.maxEjectionTimeMs) {
        ctx.addIssue({
          code: "custom",
          path: ["clusters", i, "outlier", "maxEjectionTimeMs"],
          message: "maxEjectionTimeMs must be at least baseEjectionTimeMs",
        });
      }
    });
    cfg.routes.forEach((r, i) => {
      if (!names.has(r.cluster)) {
        ctx.addIssue({
          code: "custom",
          path: ["routes", i, "cluster"],
          message: `unknown cluster '${r.cluster}' (known: ${[...names].join(", ") || "none"})`,
        });
      }
    });
  });
export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;
export type ProxyConfigInput = z.input<typeof ProxyConfigSchema>;
