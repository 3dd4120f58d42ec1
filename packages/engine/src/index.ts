export type {
  EjectConfig,
  EngineConfig,
  EngineConfigInput,
  ForecastConfig,
  GuardrailConfig,
  PoolConfig,
  WeightConfig,
} from "./config.js";
export { DEFAULT_ENGINE_CONFIG, resolveEngineConfig } from "./config.js";
export { evaluate } from "./evaluate.js";
export type { DecisionOutcome } from "./explain.js";
export { decisionId, formatExplanation, outcomeOf, parseDecisionId } from "./explain.js";
export type { HoltState } from "./holt.js";
export { holtForecast, holtObserve } from "./holt.js";
export { initialState, parseEngineState } from "./state.js";
export { histogramQuantile } from "./stats.js";
export type {
  Direction,
  EjectionStatus,
  EndpointState,
  EngineState,
  EvaluateContext,
  EvaluateResult,
  EvidenceClass,
  GuardrailEntry,
  OperatorSettings,
  RuleName,
  TargetState,
} from "./types.js";
export { EJECTION_STATUSES, ENGINE_STATE_SCHEMA, EVIDENCE_CLASSES, NO_OPERATOR_SETTINGS, RULES } from "./types.js";
