export { EXPLAIN_HELP, type ExplainIo, findDecision, runExplain } from "./explain.js";
export { type JobOutcome, runEvaluationJob, type WindowSource } from "./job.js";
export { ENGINE_ENV, ENGINE_HELP, runEngine } from "./main.js";
export { EngineMetrics } from "./metrics.js";
export { createEngineStore, type EngineStore, type EngineStoreOptions, parseOperatorSettings } from "./store.js";
export { ENGINE_DEFAULTS, type EngineWorker, type EngineWorkerOptions, startEngineWorker } from "./worker.js";
