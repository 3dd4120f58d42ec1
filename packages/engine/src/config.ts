/**
 * Engine configuration, resolved once (like the data plane's config objects): every rule reads
 * a fully populated EngineConfig, so no rule carries its own `?? default`. Times are ms, rates
 * are fractions (0.1 = 10 %). The defaults and where they come from:
 *
 * - eject: one hard failure from one proxy is enough (issue #10: "M proxies must not each pay
 *   the failure"); soft evidence needs k = 3 proxies. Ejection time = 30 s × count, capped at
 *   300 s (Envoy outlier detection: base_ejection_time 30 s, max_ejection_time 300 s).
 *   Max ejection percent 50 % (Envoy default is 10 %, but an egress cluster of 3-5 external
 *   endpoints would then never eject one; 50 % still keeps half of them), panic threshold 50 %
 *   (Envoy healthy_panic_threshold default).
 * - weights: default 100, floor 5 (a twentieth of the default: a non-ejected endpoint keeps being
 *   probed), max 1000 (contracts EndpointOverride.weight); step ≤ ×2 up / ÷2 down per
 *   evaluation; hysteresis 15 %; blackout 10 s and expiration 180 s (Envoy client-side WRR
 *   blackout_period 10 s, weight_expiration_period 3 min).
 * - forecast: Holt α 0.5, β 0.3 (the data plane's scaler) with trend damping φ 0.9 (holt.ts),
 *   horizon 30 s, headroom 1.5;
 *   scale-down stabilisation 300 s (Kubernetes HPA --horizontal-pod-autoscaler-downscale-stabilization).
 * - pool: connect timeout = p99 of connect latency × 3, clamped to 250 ms .. 10 s; pool limits =
 *   observed concurrency per proxy × 2, clamped to 8 .. 1024.
 * - guardrails: 60 changes per cluster per minute, 30 s dwell before a reversal.
 * - every rule has `enabled` (default true): an operator can turn one rule off, and the
 *   benchmark's ablation (bench/src/scenarios/tuner-fleet.ts) measures each rule's effect by
 *   turning it off alone. A rule that is off proposes nothing; its state is still observed.
 */

export interface EjectConfig {
  /** false: the rule proposes nothing (state is still observed). */
  enabled: boolean;
  /** Connect-failure reasons that count as hard failures (one proxy is enough). */
  hardConnectReasons: readonly string[];
  /** Proxies that must agree on soft evidence (5xx / gateway errors / latency outlier). */
  softQuorum: number;
  /**
   * Hard evidence made only of timeouts (health-check or connect timeouts) is set aside as
   * contradicted when at least max(2, this × reporters) OTHER proxies saw the endpoint healthy
   * in the same short view: a CPU-starved proxy times out on every endpoint, a black hole times
   * out for everyone. Refused connects, TLS failures and wrong statuses are never contradicted.
   */
  timeoutContradictionRatio: number;
  /** Soft: error share of attempts in the short view that counts as failing. */
  softErrorRate: number;
  /** Soft: endpoint mean latency ≥ this × cluster median counts as an outlier. */
  latencyOutlierFactor: number;
  /** Soft evidence needs at least this many attempts in the short view. */
  minRequests: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** The ejection count drops by one for every such period spent un-ejected. */
  countDecayMs: number;
  /** Un-eject on recovered probes only after this × count since the ejection. */
  recoveryDwellMs: number;
  /** The ejection decision lapses this long after the planned end (renewals keep it). */
  expiryGraceMs: number;
  maxEjectionPercent: number;
  /** Never leave fewer than this percent of endpoints un-ejected. */
  panicThresholdPercent: number;
}

export interface WeightConfig {
  /** false: the rule proposes nothing (state is still observed). */
  enabled: boolean;
  defaultWeight: number;
  floorWeight: number;
  maxWeight: number;
  /** New weight ≤ old × this and ≥ old / this per evaluation. */
  maxStepFactor: number;
  /** Changes smaller than this fraction of the current weight are ignored. */
  hysteresis: number;
  blackoutMs: number;
  expirationMs: number;
  /** Attempts in the short view below which an endpoint keeps its weight. */
  minRequests: number;
  /** Cost terms (see rules/weights.ts). */
  errorPenalty: number;
  queuePenalty: number;
  /** EWMA weight of the newest in-flight excess (per evaluation). */
  loadSmoothing: number;
  poolPenalty: number;
}

export interface ForecastConfig {
  /** false: the rule proposes nothing (state is still observed). */
  enabled: boolean;
  alpha: number;
  beta: number;
  /** Trend damping φ (holt.ts); 1 = plain Holt. */
  phi: number;
  horizonMs: number;
  headroom: number;
  /** Seconds at the end of the rate series left out (exports of the last seconds are still arriving). */
  settleSeconds: number;
  minWarm: number;
  maxWarm: number;
  stabilisationMs: number;
}

export interface PoolConfig {
  /** false: the rule proposes nothing (state is still observed). */
  enabled: boolean;
  connectQuantile: number;
  connectMargin: number;
  minConnectTimeoutMs: number;
  maxConnectTimeoutMs: number;
  /** Connect samples in the long view before the timeout is tuned. */
  minConnectSamples: number;
  /**
   * Request attempts in the long view (all endpoints) before pool limits are tuned: with no
   * traffic the concurrency figure is 0 and the limits would drop to minConnections on no
   * evidence at all (seen in the demo: every cluster capped at 8 at start).
   */
  minAttemptSamples: number;
  concurrencyHeadroom: number;
  minConnections: number;
  maxConnections: number;
  /** Relative change below which pool limits and timeouts stay. */
  hysteresis: number;
  stabilisationMs: number;
}

export interface GuardrailConfig {
  maxChangesPerMinute: number;
  /** Minimum time between a change and its reversal (weights, pool targets, timeouts). */
  dwellMs: number;
  /** A blocked decision identical to one already recorded within this period is not recorded again. */
  blockedRepeatMs: number;
}

export interface EngineConfig {
  eject: EjectConfig;
  weights: WeightConfig;
  forecast: ForecastConfig;
  pool: PoolConfig;
  guardrails: GuardrailConfig;
  /** Endpoints without data for this long leave the state (after their weight expired). */
  forgetMs: number;
}

export type EngineConfigInput = {
  [K in keyof EngineConfig]?: K extends "forgetMs" ? number : Partial<EngineConfig[K]>;
};

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  eject: {
    enabled: true,
    hardConnectReasons: ["refused", "timeout", "tls"],
    softQuorum: 3,
    timeoutContradictionRatio: 2,
    softErrorRate: 0.5,
    latencyOutlierFactor: 5,
    minRequests: 20,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    countDecayMs: 300_000,
    recoveryDwellMs: 10_000,
    expiryGraceMs: 30_000,
    maxEjectionPercent: 50,
    panicThresholdPercent: 50,
  },
  weights: {
    enabled: true,
    defaultWeight: 100,
    floorWeight: 5,
    maxWeight: 1000,
    maxStepFactor: 2,
    hysteresis: 0.15,
    blackoutMs: 10_000,
    expirationMs: 180_000,
    minRequests: 20,
    errorPenalty: 10,
    queuePenalty: 1,
    loadSmoothing: 0.2,
    poolPenalty: 1,
  },
  forecast: {
    enabled: true,
    alpha: 0.5,
    beta: 0.3,
    phi: 0.9,
    horizonMs: 30_000,
    headroom: 1.5,
    settleSeconds: 2,
    minWarm: 1,
    maxWarm: 256,
    stabilisationMs: 300_000,
  },
  pool: {
    enabled: true,
    connectQuantile: 0.99,
    connectMargin: 3,
    minConnectTimeoutMs: 250,
    maxConnectTimeoutMs: 10_000,
    minConnectSamples: 50,
    minAttemptSamples: 200,
    concurrencyHeadroom: 2,
    minConnections: 8,
    maxConnections: 1024,
    hysteresis: 0.2,
    stabilisationMs: 300_000,
  },
  guardrails: {
    maxChangesPerMinute: 60,
    dwellMs: 30_000,
    blockedRepeatMs: 60_000,
  },
  forgetMs: 600_000,
};

/** Fills every missing field from the defaults (shallow per section). */
export function resolveEngineConfig(input: EngineConfigInput = {}): EngineConfig {
  const d = DEFAULT_ENGINE_CONFIG;
  return {
    eject: { ...d.eject, ...input.eject },
    weights: { ...d.weights, ...input.weights },
    forecast: { ...d.forecast, ...input.forecast },
    pool: { ...d.pool, ...input.pool },
    guardrails: { ...d.guardrails, ...input.guardrails },
    forgetMs: input.forgetMs ?? d.forgetMs,
  };
}
