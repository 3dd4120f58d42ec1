export * from "./clock.js";
export * from "./cluster.js";
export { Holt } from "./coord/holt.js";
export { Ewma, PeakEwma } from "./coord/peak-ewma.js";
export { PredictiveScaler, type ScalerHost, type ScalerState } from "./coord/scaler.js";
export { LATENCY_FLOOR_MS, poolAwareScore, type ScoreInputs } from "./coord/score.js";
export { planWarmup, type WarmTarget } from "./coord/warmup-plan.js";
export * from "./discovery/discovery.js";
export {
  HealthCheckTracker,
  type HealthCheckTrackerOptions,
  type HealthSnapshot,
  type HealthThresholds,
  type HealthTransition,
  type HealthTransitionEvent,
} from "./health/state.js";
export * from "./host.js";
export { murmur3 } from "./lb/hash.js";
export { createLoadBalancer, createPolicy } from "./lb/index.js";
export { activeRequestScore, LeastRequestLoadBalancer, type LeastRequestOptions } from "./lb/least-request.js";
export { RandomLoadBalancer } from "./lb/random.js";
export { RingHashLoadBalancer, type RingHashOptions } from "./lb/ring-hash.js";
export { RoundRobinLoadBalancer } from "./lb/round-robin.js";
export { FilteredHostSource, type HostSource } from "./lb/source.js";
export * from "./lb/types.js";
export { WeightedRoundRobinLoadBalancer } from "./lb/weighted-round-robin.js";
export {
  AvailableHosts,
  effectiveWeight,
  type SlowStartConfig,
  searchCumulative,
  slowStartFactor,
} from "./lb/weights.js";
export {
  type SpillReason,
  type ZoneAwareConfig,
  ZoneAwareLoadBalancer,
  type ZoneMode,
} from "./lb/zone-aware.js";
export {
  type BuiltinEjectionReason,
  classifyStatus,
  type EjectionReason,
  type EjectOutcome,
  type OutlierClusterSnapshot,
  OutlierDetector,
  type OutlierDetectorOptions,
  type OutlierEvent,
  type OutlierHostSnapshot,
  type OutlierListener,
  type OutlierResult,
  type OutlierResultKind,
} from "./outlier/detector.js";
export * from "./pool/connect.js";
export * from "./pool/connection.js";
export * from "./pool/pool.js";
export * from "./proxy/admin.js";
export { AdmissionControl, type AdmissionSettings, type AdmitResult } from "./proxy/admission.js";
export * from "./proxy/errors.js";
export * from "./proxy/forward.js";
export * from "./proxy/proxy.js";
export * from "./proxy/router.js";
export { parseTarget, type Target } from "./proxy/target.js";
export { WARM_HEADER, type WarmPathResult, type WarmPathTarget, warmTargets } from "./proxy/warm-path.js";
export { mergeClusters, type WorkerClusters } from "./workers/merge.js";
export {
  applyVerdict,
  type EjectVerdict,
  type HealthVerdict,
  isPeerVerdict,
  PEER_PREFIX,
  type PeerVerdict,
  verdictOf,
} from "./workers/peer.js";
export { isWorkerHello, type PrimaryOptions, type WorkerHello, WorkerPrimary } from "./workers/primary.js";
export { announce, healthRole, receiveVerdicts, verdictSender, workerId } from "./workers/worker.js";
