/**
 * Outlier detection (passive health), following Envoy's semantics
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier and
 * source/common/upstream/outlier_detection_impl.cc), written as a small loop that flips one gate:
 * the "ejected_outlier" flag, through this detector's own FlagWriter.
 *
 * - Consecutive errors eject at once (per-host counters and the ejection-time backoff:
 *   host-state.ts).
 * - Every intervalMs: un-eject hosts whose time is up, success-rate ejection, failure-percentage
 *   ejection, latency ejection (interval.ts), then decay the ejection multiplier of hosts that
 *   stayed un-ejected for a full interval.
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
import {
  adoptEjection,
  type HostState,
  markEjected,
  markUnejected,
  newState,
  recordResult,
  snapshotOf,
  startInterval,
} from "./host-state.js";
import { type IntervalStats, latencyEjections, rateEjections } from "./interval.js";
import type {
  EjectionReason,
  EjectOutcome,
  OutlierClusterSnapshot,
  OutlierDetectorOptions,
  OutlierEvent,
  OutlierHostSnapshot,
  OutlierListener,
  OutlierResult,
} from "./types.js";

export * from "./types.js";

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
  #cluster: IntervalStats = {};

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
    recordResult(s, result, this.#cfg, (reason, detail, evidence) => this.#tryEject(host, s, reason, detail, evidence));
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
    return s === undefined ? undefined : snapshotOf(s);
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

    // 2. Success rate and failure percentage; 3. latency (interval.ts).
    this.#cluster = {};
    const eject = (host: Host, s: HostState, reason: EjectionReason, evidence: Record<string, number>) =>
      this.#tryEject(host, s, reason, undefined, evidence);
    rateEjections(this.#states, cfg, this.#cluster, eject);
    latencyEjections(this.#states, cfg, this.#cluster, eject);

    // 4. New interval; decay the multiplier of hosts that stayed un-ejected a whole interval.
    for (const s of this.#states.values()) startInterval(s, now, cfg.intervalMs);
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
      const reason = host.flagReason("ejected_outlier") ?? "adopted";
      adoptEjection(s, this.#clock.now(), reason, this.#cfg.baseEjectionTimeMs);
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
    const ejectUntil = markEjected(s, now, reason, detail, this.#cfg);
    this.#writer.set(host, detail !== undefined ? `${reason}: ${detail}` : reason);
    const event: OutlierEvent = {
      type: "ejected",
      host,
      reason,
      at: now,
      ejectUntil,
      ejectionCount: s.multiplier,
    };
    if (detail !== undefined) event.detail = detail;
    if (evidence !== undefined) event.evidence = evidence;
    this.#listener?.(event);
    return true;
  }

  #uneject(host: Host, s: HostState, now: number): void {
    const { reason, ejectedForMs } = markUnejected(s, now);
    this.#writer.clear(host);
    this.#listener?.({ type: "unejected", host, reason, at: now, ejectedForMs });
  }
}
