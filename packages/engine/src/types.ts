/**
 * The engine's inputs, outputs and state. The state is plain JSON (it lives in Redis under
 * `redisKeys().engineState(cluster)` between evaluations, issue #10: "stateless workers") and
 * carries a schema version; every status is an explicit enum, never inferred from a reason.
 */
import type { ClusterWindows, Decision, DecisionKind, EndpointPin } from "@meshtune/contracts";
import type { EngineConfig } from "./config.js";
import type { HoltState } from "./holt.js";

export const ENGINE_STATE_SCHEMA = 1 as const;

/** Where an endpoint stands with the engine's fleet-wide ejection. */
export const EJECTION_STATUSES = ["active", "ejected"] as const;
export type EjectionStatus = (typeof EJECTION_STATUSES)[number];

/** Which evidence an ejection rests on: hard = one proxy is enough; soft = k proxies agreed. */
export const EVIDENCE_CLASSES = ["hard", "soft", "operator"] as const;
export type EvidenceClass = (typeof EVIDENCE_CLASSES)[number];

export type Direction = -1 | 0 | 1;

export interface EjectionState {
  status: EjectionStatus;
  /** Backoff multiplier: ejection time = base × count, capped (grows per ejection, decays while healthy). */
  count: number;
  since?: number;
  until?: number;
  reason?: string;
  evidence?: EvidenceClass;
  /** Proxies whose failures led to the ejection; their probes must pass again to un-eject early. */
  reporters: string[];
  lastUnejectedAt?: number;
  /** Last time an ejection started or ended (dwell guardrail). */
  changedAt?: number;
}

/** An integer setting the engine pushes, with what the dwell and stabilisation guardrails need. */
export interface TargetState {
  value: number;
  changedAt?: number;
  direction: Direction;
  /** Recommendations within the stabilisation window, [Unix ms, value], oldest first (HPA-style scale-down). */
  recs: Array<[number, number]>;
}

export interface EndpointState {
  firstSeenAt: number;
  /** Last evaluation at which the endpoint had attempts in the short view. */
  lastDataAt: number;
  /** Last evaluation at which any proxy reported anything about the endpoint (gauges, probes, signals). */
  lastSeenAt?: number;
  ejection: EjectionState;
  weight: TargetState;
  minWarm: TargetState;
  preconnect: TargetState;
  holt: HoltState;
  /** EWMA of the in-flight excess (rules/weights.ts excessLoad), so one snapshot spike moves nothing. */
  loadExcess?: number;
  /** Last Unix second of the rate series fed to the forecast. */
  lastRateSecond?: number;
}

export interface ClusterTuningState {
  connectTimeoutMs?: TargetState;
  maxConnections?: TargetState;
  maxPending?: TargetState;
}

/** What the engine has pushed, saved when dry-run starts and restored when it ends. */
export interface DryRunBaseline {
  endpoints: Record<string, Pick<EndpointState, "ejection" | "weight" | "minWarm" | "preconnect">>;
  cluster: ClusterTuningState;
}

export interface EngineState {
  schema: typeof ENGINE_STATE_SCHEMA;
  lastEvaluatedAt?: number;
  endpoints: Record<string, EndpointState>;
  cluster: ClusterTuningState;
  /** Times of changes that went through (rate-limit guardrail), last minute only. */
  changes: number[];
  /** Blocked decisions already recorded: key endpoint|kind -> when and what (no repeats every second). */
  blocked: Record<string, { at: number; sig: string }>;
  dryRunBaseline?: DryRunBaseline;
}

/** Operator settings read for each evaluation (contracts operator.ts). */
export interface OperatorSettings {
  dryRun: { cluster: boolean; global: boolean };
  killSwitch: { cluster: boolean; global: boolean };
  /** Endpoint -> pin. */
  pins: Record<string, EndpointPin>;
  /** Per-cluster override of guardrails.maxChangesPerMinute. */
  maxChangesPerMinute?: number;
}

export const NO_OPERATOR_SETTINGS: OperatorSettings = {
  dryRun: { cluster: false, global: false },
  killSwitch: { cluster: false, global: false },
  pins: {},
};

export interface EvaluateContext {
  config: EngineConfig;
  windows: ClusterWindows;
  state: EngineState;
  /** Evaluation time, Unix ms (the window end of the job, so a retried job decides the same). */
  now: number;
  operator: OperatorSettings;
}

export interface EvaluateResult {
  decisions: Decision[];
  state: EngineState;
  /**
   * Pressure cost (rules/weights.ts; lower is better) of every endpoint with attempts in the
   * short view, computed at every evaluation whether or not a weight changed (the score gauge).
   */
  costs: Record<string, number>;
}

export const RULES = {
  fleetEject: "fleet-eject",
  fleetUneject: "fleet-uneject",
  pressureWeight: "pressure-weight",
  weightExpiry: "weight-expiry",
  predictiveScale: "predictive-scale",
  connectTimeout: "connect-timeout-tuning",
  poolLimits: "pool-limit-tuning",
  operatorPin: "operator-pin",
} as const;
export type RuleName = (typeof RULES)[keyof typeof RULES];

/** What a proposal does to the state once it goes through (never a closure: the state stays data). */
export type Effect =
  | { type: "eject"; until: number; count: number; reason: string; evidence: EvidenceClass; reporters: string[] }
  | { type: "uneject" }
  | { type: "weight"; value: number }
  | { type: "minWarm"; value: number }
  | { type: "preconnect"; value: number }
  | { type: "connectTimeout"; value: number }
  | { type: "poolLimits"; maxConnections: number; maxPending: number };

export type GuardrailEntry = NonNullable<Decision["guardrails"]>[number];

/** A rule's wish, before the guardrails. */
export interface Proposal {
  kind: DecisionKind;
  rule: RuleName;
  endpoint?: string;
  reason: string;
  inputs: Record<string, unknown>;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  confidence: number;
  expiresAt?: number;
  counterfactual: string;
  effect: Effect;
  /** +1 raises / ejects, -1 lowers / un-ejects (dwell guardrail). */
  direction: Direction;
  /** Hard-failure ejections and operator pins: exempt from the rate limit and the dwell. */
  urgent: boolean;
  /** Guardrail entries the rule itself recorded (bounded step, floor). */
  guardrails: GuardrailEntry[];
}
