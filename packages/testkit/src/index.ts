export { type TestCerts, testCerts } from "./certs.js";
export { FakeClock } from "./fake-clock.js";
export { Histogram, type HistogramOptions, type LatencySummary, summarizeMicros } from "./loadgen/histogram.js";
export {
  type EndpointReport,
  errorCause,
  type LoadOptions,
  type LoadReport,
  type LoadSample,
  runLoad,
} from "./loadgen/run-load.js";
export { type LoadStage, type RateSchedule, scheduleFromStages, stepRps } from "./loadgen/schedule.js";
export { freePort, stopChild } from "./process.js";
export {
  type FindPrometheusBinaryOptions,
  findPrometheusBinary,
  type PrometheusBinary,
} from "./prometheus-bin.js";
export {
  type RedisClusterHandle,
  type RedisClusterNode,
  type StartRedisClusterOptions,
  startRedisCluster,
} from "./redis-cluster.js";
export { formatTable, runSimCli, SIM_CLI_USAGE, type SimCliIo } from "./sim/cli.js";
export { loadSimConfigFile } from "./sim/config-file.js";
export { MAX_SAMPLED_LATENCY_MS, sampleLatencyMs } from "./sim/latency.js";
export {
  type SimEndpointHandle,
  type Simulator,
  type StartSimulatorOptions,
  startSimulator,
  startSimulatorWith,
} from "./sim/simulator.js";
