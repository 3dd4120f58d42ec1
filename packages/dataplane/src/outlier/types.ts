/** The outlier detector's public types: what the request path reports, the events, the snapshots. */
import type { Host } from "../host.js";

export type OutlierResultKind = "success" | "http_5xx" | "gateway_error" | "local_origin_failure";

/** What the request path reports for every upstream attempt. */
export interface OutlierResult {
  kind: OutlierResultKind;
  /** HTTP status when there was a response. A 502/503/504 reported as http_5xx counts as a gateway error. */
  status?: number;
  latencyMs?: number;
  /** Local-origin cause, e.g. "connect_refused", "connect_timeout", "tls_failure", "reset". */
  cause?: string;
}

/** Map an HTTP status to a result kind (helper for the request path). */
export function classifyStatus(status: number): OutlierResultKind {
  if (status === 502 || status === 503 || status === 504) return "gateway_error";
  if (status >= 500 && status <= 599) return "http_5xx";
  return "success";
}

export type BuiltinEjectionReason =
  | "consecutive_5xx"
  | "consecutive_gateway_error"
  | "consecutive_local_origin_failure"
  | "success_rate"
  | "failure_percentage"
  | "latency";
/** Built-in reasons, or the free-form reason of an external eject() (e.g. "warmup_failure"). */
export type EjectionReason = BuiltinEjectionReason | (string & {});

export type OutlierEvent =
  | {
      type: "ejected";
      host: Host;
      reason: EjectionReason;
      detail?: string;
      at: number;
      ejectUntil: number;
      /** The backoff multiplier after this ejection. */
      ejectionCount: number;
      /** The numbers behind the decision (success rate, threshold, latency, median…). */
      evidence?: Record<string, number>;
    }
  | { type: "unejected"; host: Host; reason: EjectionReason; at: number; ejectedForMs: number }
  | {
      type: "ejection_overflow";
      host: Host;
      reason: EjectionReason;
      at: number;
      ejectedHosts: number;
      totalHosts: number;
      maxEjectionPercent: number;
    };
export type OutlierListener = (event: OutlierEvent) => void;

export type EjectOutcome = "ejected" | "already_ejected" | "max_ejection_percent" | "unknown_host" | "disabled";

export interface OutlierHostSnapshot {
  ejected: boolean;
  reason?: EjectionReason;
  detail?: string;
  ejectedAt?: number;
  ejectUntil?: number;
  /** Current backoff multiplier (ejection time = base × this, capped). */
  ejectionCount: number;
  /** Ejections since the host joined. */
  totalEjections: number;
  consecutive: { http5xx: number; gatewayErrors: number; localOriginFailures: number };
  /** The interval in progress. */
  interval: { requests: number; failures: number };
  /** Success rate (%) of the last completed interval, when the host had enough volume to be judged. */
  successRate?: number;
  /** Mean latency (ms) of the last completed interval, when the host had latency samples. */
  meanLatencyMs?: number;
}

export interface OutlierClusterSnapshot {
  hosts: number;
  ejected: number;
  /** From the last interval, when success-rate ejection had enough hosts. */
  successRateMean?: number;
  successRateThreshold?: number;
  latencyMedianMs?: number;
}

export interface OutlierDetectorOptions {
  /** Envoy always_eject_one_host: allow one ejection even above maxEjectionPercent. Default false. */
  alwaysEjectOneHost?: boolean;
}
