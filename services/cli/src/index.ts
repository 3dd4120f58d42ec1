/** What other packages and the cross-service tests use of the CLI: the one-process tuner. */
export { startTuner, type Tuner, type TunerOptions } from "./tuner.js";
