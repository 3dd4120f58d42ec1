export { COLLECTOR_DEFAULTS, type CollectorOptions, type RunningCollector, startCollector } from "./collector.js";
export { COLLECTOR_ENV, COLLECTOR_HELP, runCollector } from "./main.js";
