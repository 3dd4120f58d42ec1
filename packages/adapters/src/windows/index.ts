export {
  BUCKET_KIND,
  type BucketKind,
  bucketField,
  GAUGE,
  GAUGE_ORDER,
  type GaugeName,
  gaugeField,
  HISTOGRAM_BOUNDS,
  parseField,
  SIGNAL_STREAM_FIELD,
} from "./fields.js";
export { type ReadWindowsOptions, readClusterWindows } from "./read.js";
export { appendSignals, registerClusters, type SignalStoreOptions } from "./signals.js";
export {
  type CounterPoint,
  createWindowStore,
  type GaugePoint,
  type HistogramPoint,
  type RedisLike,
  type Temporality,
  WINDOW_DEFAULTS,
  type WindowBatch,
  type WindowPoint,
  type WindowStore,
  type WindowStoreOptions,
  type WriteOutcome,
} from "./write.js";
