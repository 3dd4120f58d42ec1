/**
 * Outlier detection (passive health), following Envoy's semantics
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier and
 * source/common/upstream/outlier_detection_impl.cc), written as a small loop that flips one gate:
 * the "ejected_outlier" flag, through this detector's own FlagWriter.
 *
 * - Consecutive errors eject at once: consecutive 5xx (gateway errors count too), consecutive
 *   gateway errors (502/503/504), consecutive local-origin failures (connect refused/timeout,
 *   TLS failure, reset). Local-origin errors are kept apart from HTTP errors as in Envoy's
 *   split_external_local_origin_errors mode: an egress proxy to external services sees mostly
 *   connect failures, which deserve their own threshold. Any HTTP response proves the connection
 *   worked and resets the local-origin counter; a non-5xx response resets the HTTP counters; a
 *   5xx that is not a gateway error resets the gateway counter (Envoy putHttpResponseCode).
 * - Every intervalMs: un-eject hosts whose time is up, success-rate ejection (mean − stdevFactor ×
 *   stdev over hosts with ≥ requestVolume requests, only when ≥ minimumHosts qualify),
 *   failure-percentage ejection, latency ejection (mean latency > factor × median of qualifying
 *   hosts — ours; Envoy has none, DESIGN.md section 2), then decay the ejection multiplier of
 *   hosts that stayed un-ejected for a full interval. Success rate and failure percentage count
 *   local-origin failures as failures (a request that never got an answer did fail).
 * - Ejection time = baseEjectionTimeMs × multiplier, capped at maxEjectionTimeMs; the multiplier
 *   grows by one per ejection (while multiplier × base < max + base) and decays by one per
 *   interval un-ejected. Un-ejection happens on the interval tick, as in Envoy.
 * - Max ejection percent (Envoy ≥ 1.26): an ejection goes ahead only if
 *   (ejected + 1) / hosts × 100 ≤ maxEjectionPercent; with `alwaysEjectOneHost` (Envoy's
 *   always_eject_one_host) the first ejection is always allowed. Refused ejections are reported
 *   as "ejection_overflow" events (Envoy's ejections_overflow counter).
 *
 * State is keyed by the Host object: HostSet.update keeps the object for an unchanged address,
 * so a DNS re-resolve does not reset an ejection (the Istio #8673 complaint).
 */
import type { OutlierConfig } from "@meshtune/contracts";
import type { Clock, TimerHandle } from "../clock.js";
import type { FlagWriter, Host, HostSet } from "../host.js";

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

interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocalOrigin: number;
  requests: number;
  failures: number;
  latencySum: number;
  latencyCount: number;
  ejected: boolean;
  reason: EjectionReason | undefined;
  detail: string | undefined;
  ejectedAt: number | undefined;
  ejectUntil: number | undefined;
  multiplier: number;
  totalEjections: number;
  lastUnejectedAt: number | undefined;
  successRate: number | undefined;
  meanLatencyMs: number | undefined;
}

function newState(): HostState {
  return {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocalOrigin: 0,
    requests: 0,
    failures: 0,
    latencySum: 0,
    latencyCount: 0,
    ejected: false,
    reason: undefined,
    detail: undefined,
    ejectedAt: undefined,
    ejectUntil: undefined,
    multiplier: 0,
    totalEjections: 0,
    lastUnejectedAt: undefined,
    successRate: undefined,
    meanLatencyMs: undefined,
  };
}

export class OutlierDetector {
  #cfg: OutlierConfig;
  readonly #hosts: HostSet;
  readonly #clock: Clock;
  readonly #writer: FlagWriter;
  readonly #listener: OutlierListener | undefined;
  readonly #alwaysEjectOneHost: boolean;
  readonly #states = new Map<Host, HostState>();
  readonly #unsubscribe: () => void;
  #timer: TimerHandle | undefined;
  #closed = false;
  #cluster: Omit<OutlierClusterSnapshot, "hosts" | "ejected"> = {};

  constructor(
    hosts: HostSet,
    cfg: OutlierConfig,
    clock: Clock,
    writer: FlagWriter,
    listener?: OutlierListener,
    opts: OutlierDetectorOptions = {},
  ) {
    if (writer.flag !== "ejected_outlier")
      throw new Error(`OutlierDetector needs the ejected_outlier writer, got ${writer.flag}`);
    this.#hosts = hosts;
    this.#cfg = cfg;
    this.#clock = clock;
    this.#writer = writer;
    this.#listener = listener;
    this.#alwaysEjectOneHost = opts.alwaysEjectOneHost ?? false;
    for (const h of hosts.hosts) this.#track(h);
    this.#unsubscribe = hosts.onChange((_all, change) => {
      for (const h of change.added) this.#track(h);
      // A removed host's state goes with it (Envoy erases the host monitor); the Host object is
      // discarded by the HostSet, so the flag it carries no longer matters.
      for (const h of change.removed) this.#states.delete(h);
    });
    this.#applyEnabled();
  }

  get config(): OutlierConfig {
    return this.#cfg;
  }

  /** Hosts currently ejected by this detector. */
  get ejectedCount(): number {
    let n = 0;
    for (const s of this.#states.values()) if (s.ejected) n++;
    return n;
  }

  /** Feed one upstream attempt's outcome. Results for hosts no longer in the set are ignored. */
  reportResult(host: Host, result: OutlierResult): void {
    if (!this.#cfg.enabled) return;
    const s = this.#states.get(host);
    if (s === undefined) return;
    let kind = result.kind;
    if (kind === "http_5xx" && result.status !== undefined && classifyStatus(result.status) === "gateway_error") {
      kind = "gateway_error";
    }
    s.requests++;
    if (kind !== "success") s.failures++;
    if (result.latencyMs !== undefined && result.latencyMs >= 0) {
      s.latencySum += result.latencyMs;
      s.latencyCount++;
    }
    // An ejected host's late results still count toward its interval, but its consecutive
    // counters restart at un-ejection (Envoy ignores consecutive errors of ejected hosts).
    if (s.ejected) return;
    const cfg = this.#cfg;
    switch (kind) {
      case "success":
        s.consecutive5xx = 0;
        s.consecutiveGateway = 0;
        s.consecutiveLocalOrigin = 0;
        return;
      case "local_origin_failure":
        s.consecutiveLocalOrigin++;
        if (cfg.consecutiveLocalOriginFailures > 0 && s.consecutiveLocalOrigin >= cfg.consecutiveLocalOriginFailures) {
          const n = s.consecutiveLocalOrigin;
          s.consecutiveLocalOrigin = 0;
          this.#tryEject(host, s, "consecutive_local_origin_failure", result.cause, { consecutive: n });
        }
        return;
      case "gateway_error":
      case "http_5xx": {
        s.consecutiveLocalOrigin = 0;
        s.consecutive5xx++;
        if (kind === "gateway_error") s.consecutiveGateway++;
        else s.consecutiveGateway = 0;
        const detail = result.status !== undefined ? `status ${result.status}` : undefined;
        if (cfg.consecutiveGatewayErrors > 0 && s.consecutiveGateway >= cfg.consecutiveGatewayErrors) {
          const n = s.consecutiveGateway;
          s.consecutiveGateway = 0;
          this.#tryEject(host, s, "consecutive_gateway_error", detail, { consecutive: n });
        }
        if (!s.ejected && cfg.consecutive5xx > 0 && s.consecutive5xx >= cfg.consecutive5xx) {
          const n = s.consecutive5xx;
          s.consecutive5xx = 0;
          this.#tryEject(host, s, "consecutive_5xx", detail, { consecutive: n });
        }
        return;
      }
    }
  }

  /**
   * Eject on an external signal, e.g. a warm-up connect/TLS/health failure before the first real
   * request (issue #5, DESIGN.md coordination step 2). Same backoff and max-ejection-percent rules.
   */
  eject(host: Host, reason: EjectionReason, detail?: string): EjectOutcome {
    if (!this.#cfg.enabled) return "disabled";
    const s = this.#states.get(host);
    if (s === undefined) return "unknown_host";
    if (s.ejected) return "already_ejected";
    return this.#tryEject(host, s, reason, detail, undefined) ? "ejected" : "max_ejection_percent";
  }

  snapshot(host: Host): OutlierHostSnapshot | undefined {
    const s = this.#states.get(host);
    if (s === undefined) return undefined;
    const snap: OutlierHostSnapshot = {
      ejected: s.ejected,
      ejectionCount: s.multiplier,
      totalEjections: s.totalEjections,
      consecutive: {
        http5xx: s.consecutive5xx,
        gatewayErrors: s.consecutiveGateway,
        localOriginFailures: s.consecutiveLocalOrigin,
      },
      interval: { requests: s.requests, failures: s.failures },
    };
    if (s.ejected) {
      snap.reason = s.reason;
      if (s.detail !== undefined) snap.detail = s.detail;
      snap.ejectedAt = s.ejectedAt;
      snap.ejectUntil = s.ejectUntil;
    }
    if (s.successRate !== undefined) snap.successRate = s.successRate;
    if (s.meanLatencyMs !== undefined) snap.meanLatencyMs = s.meanLatencyMs;
    return snap;
  }

  clusterSnapshot(): OutlierClusterSnapshot {
    return { hosts: this.#hosts.hosts.length, ejected: this.ejectedCount, ...this.#cluster };
  }

  /** Apply a new config in place; host state (ejections, multipliers) is kept. */
  updateConfig(cfg: OutlierConfig): void {
    const intervalChanged = cfg.intervalMs !== this.#cfg.intervalMs;
    this.#cfg = cfg;
    if (intervalChanged) {
      this.#timer?.cancel();
      this.#timer = undefined;
    }
    this.#applyEnabled();
  }

  /**
   * Run one interval sweep now. The timer calls this; exposed so the owner (and tests) can
   * drive a sweep explicitly.
   */
  runInterval(): void {
    if (!this.#cfg.enabled) return;
    const now = this.#clock.now();
    const cfg = this.#cfg;

    // 1. Un-eject hosts whose time is up; close the interval's per-host numbers.
    for (const [host, s] of this.#states) {
      if (s.ejected && s.ejectUntil !== undefined && now >= s.ejectUntil) this.#uneject(host, s, now);
      s.successRate = undefined;
      s.meanLatencyMs = s.latencyCount > 0 ? s.latencySum / s.latencyCount : undefined;
    }

    // 2. Success rate and failure percentage over the non-ejected hosts with enough volume.
    this.#cluster = {};
    const sr = cfg.successRate;
    const fp = cfg.failurePercentage;
    const srHosts: Array<[Host, HostState, number]> = [];
    const fpHosts: Array<[Host, HostState, number]> = [];
    for (const [host, s] of this.#states) {
      if (s.ejected || s.requests === 0) continue;
      const rate = (100 * (s.requests - s.failures)) / s.requests;
      if (s.requests >= Math.min(sr.requestVolume, fp.requestVolume)) s.successRate = rate;
      if (sr.enabled && s.requests >= sr.requestVolume) srHosts.push([host, s, rate]);
      if (fp.enabled && s.requests >= fp.requestVolume) fpHosts.push([host, s, rate]);
    }
    if (sr.enabled && srHosts.length > 0 && srHosts.length >= sr.minimumHosts) {
      let sum = 0;
      for (const [, , r] of srHosts) sum += r;
      const mean = sum / srHosts.length;
      let variance = 0;
      for (const [, , r] of srHosts) variance += (r - mean) ** 2;
      const stdev = Math.sqrt(variance / srHosts.length);
      const threshold = mean - sr.stdevFactor * stdev;
      this.#cluster.successRateMean = mean;
      this.#cluster.successRateThreshold = threshold;
      for (const [host, s, rate] of srHosts) {
        if (rate < threshold && !s.ejected) {
          this.#tryEject(host, s, "success_rate", undefined, { successRate: rate, mean, stdev, threshold });
        }
      }
    }
    if (fp.enabled && fpHosts.length > 0 && fpHosts.length >= fp.minimumHosts) {
      for (const [host, s, rate] of fpHosts) {
        const failurePercent = 100 - rate;
        if (failurePercent >= fp.threshold && !s.ejected) {
          this.#tryEject(host, s, "failure_percentage", undefined, { failurePercent, threshold: fp.threshold });
        }
      }
    }

    // 3. Latency: mean latency above factor × the median of the qualifying hosts' means.
    const lat = cfg.latency;
    if (lat.enabled) {
      const latHosts: Array<[Host, HostState, number]> = [];
      for (const [host, s] of this.#states) {
        if (!s.ejected && s.latencyCount >= lat.requestVolume) latHosts.push([host, s, s.latencySum / s.latencyCount]);
      }
      if (latHosts.length > 0 && latHosts.length >= lat.minimumHosts) {
        const means = latHosts.map(([, , m]) => m).sort((a, b) => a - b);
        const mid = means.length >> 1;
        const median = means.length % 2 === 1 ? means[mid]! : (means[mid - 1]! + means[mid]!) / 2;
        this.#cluster.latencyMedianMs = median;
        const limit = lat.factor * median;
        for (const [host, s, mean] of latHosts) {
          if (mean > limit && !s.ejected) {
            this.#tryEject(host, s, "latency", undefined, {
              meanLatencyMs: mean,
              medianMs: median,
              factor: lat.factor,
            });
          }
        }
      }
    }

    // 4. New interval; decay the multiplier of hosts that stayed un-ejected a whole interval.
    for (const s of this.#states.values()) {
      s.requests = 0;
      s.failures = 0;
      s.latencySum = 0;
      s.latencyCount = 0;
      if (
        !s.ejected &&
        s.multiplier > 0 &&
        s.lastUnejectedAt !== undefined &&
        now - s.lastUnejectedAt >= cfg.intervalMs
      ) {
        s.multiplier--;
      }
    }
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#unsubscribe();
  }

  #track(host: Host): void {
    if (this.#states.has(host)) return;
    const s = newState();
    // A host that already carries our flag (a previous detector of this cluster, replaced on a
    // config reload) stays ejected for one base period instead of being silently stranded.
    if (host.hasFlag("ejected_outlier")) {
      const now = this.#clock.now();
      s.ejected = true;
      s.reason = host.flagReason("ejected_outlier") ?? "adopted";
      s.ejectedAt = now;
      s.multiplier = 1;
      s.totalEjections = 1;
      s.ejectUntil = now + this.#cfg.baseEjectionTimeMs;
    }
    this.#states.set(host, s);
  }

  #applyEnabled(): void {
    if (this.#closed) return;
    if (!this.#cfg.enabled) {
      this.#timer?.cancel();
      this.#timer = undefined;
      // Disabled: nothing of ours may keep a host out.
      const now = this.#clock.now();
      for (const [host, s] of this.#states) if (s.ejected) this.#uneject(host, s, now);
      return;
    }
    if (this.#timer === undefined) this.#arm();
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.runInterval();
      if (!this.#closed && this.#cfg.enabled && this.#timer === undefined) this.#arm();
    }, this.#cfg.intervalMs);
  }

  #ejectionAllowed(): { ok: boolean; ejected: number; total: number } {
    const total = this.#hosts.hosts.length;
    const ejected = this.ejectedCount;
    if (total === 0) return { ok: false, ejected, total };
    const max = Math.min(100, this.#cfg.maxEjectionPercent);
    const ok = (100 * (ejected + 1)) / total <= max || (this.#alwaysEjectOneHost && ejected === 0);
    return { ok, ejected, total };
  }

  #tryEject(
    host: Host,
    s: HostState,
    reason: EjectionReason,
    detail: string | undefined,
    evidence: Record<string, number> | undefined,
  ): boolean {
    const now = this.#clock.now();
    const allowed = this.#ejectionAllowed();
    if (!allowed.ok) {
      this.#listener?.({
        type: "ejection_overflow",
        host,
        reason,
        at: now,
        ejectedHosts: allowed.ejected,
        totalHosts: allowed.total,
        maxEjectionPercent: this.#cfg.maxEjectionPercent,
      });
      return false;
    }
    const base = this.#cfg.baseEjectionTimeMs;
    const max = Math.max(base, this.#cfg.maxEjectionTimeMs);
    // Envoy grows the multiplier only while base × multiplier < max + base, so a long-failing
    // host's multiplier stays bounded and decays back in a bounded number of intervals.
    if (s.multiplier * base < max + base) s.multiplier++;
    s.totalEjections++;
    s.ejected = true;
    s.reason = reason;
    s.detail = detail;
    s.ejectedAt = now;
    s.ejectUntil = now + Math.min(base * s.multiplier, max);
    this.#writer.set(host, detail !== undefined ? `${reason}: ${detail}` : reason);
    const event: OutlierEvent = {
      type: "ejected",
      host,
      reason,
      at: now,
      ejectUntil: s.ejectUntil,
      ejectionCount: s.multiplier,
    };
    if (detail !== undefined) event.detail = detail;
    if (evidence !== undefined) event.evidence = evidence;
    this.#listener?.(event);
    return true;
  }

  #uneject(host: Host, s: HostState, now: number): void {
    const reason = s.reason ?? "unknown";
    const ejectedForMs = now - (s.ejectedAt ?? now);
    s.ejected = false;
    s.reason = undefined;
    s.detail = undefined;
    s.ejectedAt = undefined;
    s.ejectUntil = undefined;
    s.lastUnejectedAt = now;
    // Envoy resets the consecutive counters so a couple of fresh errors cannot re-eject a host
    // whose counter was one short of the threshold when it went out.
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    s.consecutiveLocalOrigin = 0;
    this.#writer.clear(host);
    this.#listener?.({ type: "unejected", host, reason, at: now, ejectedForMs });
  }
}
