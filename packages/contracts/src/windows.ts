/**
 * Owner of the evidence contract between the collector (writer, issue #9) and the engine
 * (reader, issue #10): per-(cluster, endpoint) telemetry windows built from every proxy's
 * OTLP export, and the fast signals stored as events. The collector stores 1-second buckets
 * in Redis (keys from `redisKeys().windowBucket`); the window reader in @meshtune/adapters
 * sums them into the views below. All times at this boundary are Unix milliseconds.
 */
import { z } from "zod";

/** Views the engine reads: the last 10 s and the last 60 s (issue #9). */
export const WINDOW_VIEWS = { short: 10, long: 60 } as const;
export type WindowViewName = keyof typeof WINDOW_VIEWS;

export type StatusClassName = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "error";

/** Explicit-bucket histogram merged bucket-wise (the proxy's bounds; `counts.length = bounds.length + 1`). */
export interface HistogramWindow {
  /** Upper bounds in seconds. */
  bounds: readonly number[];
  counts: number[];
  count: number;
  /** Seconds. */
  sum: number;
}

/** Sum over proxies of each proxy's latest value in the view (gauges are per proxy). */
export interface GaugeWindow {
  inFlight: number;
  poolIdle: number;
  poolActive: number;
  poolConnecting: number;
  poolPending: number;
  /** Mean over the proxies that reported a score (lower is better); undefined when none did. */
  lbScore?: number;
}

/** What the fleet saw of one endpoint over one view. */
export interface EndpointWindow {
  endpoint: string;
  /** Upstream attempts by status class. */
  attempts: Partial<Record<StatusClassName, number>>;
  latency: HistogramWindow;
  poolWait: HistogramWindow;
  connectLatency: HistogramWindow;
  /** Failed connects by reason (refused, timeout, tls, reset, other). */
  connectFailures: Record<string, number>;
  /** Warm-up connection outcomes (ready, connect_failed, health_failed). */
  warmup: Record<string, number>;
  /** Active health check results (success, failure, timeout). */
  health: Record<string, number>;
  /** Proxy-local outlier ejections by reason. */
  ejections: Record<string, number>;
  picks: number;
  gauges: GaugeWindow;
  /** Proxies that reported anything about this endpoint in the view. */
  proxiesReporting: number;
  /**
   * Per proxy instance that saw a failure on this endpoint in the view: failed attempts
   * (5xx and no-response), failed connects, failed warm-ups and failed health checks.
   * Filled in the short view only; empty in the long view (reading 60 s of per-proxy fields
   * costs ~150k fields per read at 200 proxies × 50 endpoints; decision 0007).
   */
  failuresByProxy: Record<string, number>;
  /** Per proxy instance: successful health checks and ready warm-ups (evidence to un-eject). Short view only, as above. */
  healthyByProxy: Record<string, number>;
}

export interface ClusterWindows {
  cluster: string;
  /** End of the views (exclusive), Unix ms. */
  at: number;
  /** Proxies that reported for the cluster within the long view. */
  proxiesReporting: number;
  views: Record<WindowViewName, EndpointWindow[]>;
  /**
   * Attempts per second per endpoint, oldest first, one entry per second of the long view
   * (for the forecast; a second with no report is 0).
   */
  rates: Record<string, number[]>;
  /** Fast signals of the cluster within the long view, oldest first. */
  signals: FastSignal[];
}

export const FAST_SIGNAL_KINDS = [
  "warmup_failure",
  "health_check_failure",
  "ejection",
  "unejection",
  "config_nack",
] as const;
export const FastSignalKindSchema = z.enum(FAST_SIGNAL_KINDS);
export type FastSignalKind = z.infer<typeof FastSignalKindSchema>;

/** A fast failure signal as stored (from the proxy's always-sampled spans, issue #6). */
export const FastSignalSchema = z
  .object({
    kind: FastSignalKindSchema,
    cluster: z.string(),
    endpoint: z.string().optional(),
    /** service.instance.id of the reporting proxy. */
    proxy: z.string(),
    /** When the proxy saw it (span start), Unix ms. */
    at: z.number(),
    /** When the collector received it, Unix ms. */
    receivedAt: z.number(),
    /** The span's attributes (meshtune.* names from the telemetry catalog). */
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  })
  .strict();
export type FastSignal = z.infer<typeof FastSignalSchema>;
