/**
 * Admission control: refuse new requests with a fast 503 (`x-meshtune-error: overloaded`)
 * while the proxy is saturated, instead of accepting them into queues where every one of them
 * times out (issue #15: ten proxies × 100 rps on 2 cores collapsed for ~30 s, every request
 * timing out at the client's 2 s and retries piling on, while HAProxy and NGINX degraded).
 *
 * Two signals, either one sheds:
 * - requests in flight through the listener above `maxInFlight` (a hard bound on queued work);
 * - event-loop lag: a probe timer every PROBE_MS measures how late it fires (the time a new
 *   request would wait before the proxy even reads it). The lag is smoothed (EWMA, α = 0.3)
 *   and above `maxEventLoopLagMs` requests are shed with probability
 *       p = min(MAX_SHED, (lag − max) / max)
 *   so a proxy just past the bound sheds a little and a starved one sheds most: shedding
 *   cheap 503s frees the loop, the lag falls, and admission reopens within a few probes
 *   (recovery in seconds, not when the load changes). MAX_SHED < 1 keeps some traffic
 *   flowing so the lag estimate keeps meaning something and recovery is gradual.
 *
 * The probe stops while the proxy is idle (nothing in flight, no request since the last probe,
 * the loop on time) and restarts with the next request: a sidecar that serves nothing would
 * otherwise wake 20 times a second for nothing (an idle proxy used 18 ms CPU per second on
 * this VM, ~90 wake-ups; issue #15).
 *
 * Time comes from the injected Clock (tests run it on paused time); randomness is injected.
 */
import type { Clock, Random, TimerHandle } from "../clock.js";

export const PROBE_MS = 50;
const ALPHA = 0.3;
const MAX_SHED = 0.95;
/** Below this smoothed lag (ms) an idle proxy stops probing. */
const IDLE_LAG_MS = 1;

export interface AdmissionSettings {
  enabled: boolean;
  maxInFlight: number;
  maxEventLoopLagMs: number;
}

export type AdmitResult = { ok: true } | { ok: false; reason: "in_flight" | "event_loop_lag"; detail: string };

const ADMITTED: AdmitResult = { ok: true };

export class AdmissionControl {
  #settings: AdmissionSettings;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #inFlight: () => number;
  #lagMs = 0;
  #expectedAt = 0;
  #timer: TimerHandle | undefined;
  #started = false;
  /** A request arrived since the last probe. */
  #seen = false;
  #shedInFlight = 0;
  #shedLag = 0;

  constructor(settings: AdmissionSettings, clock: Clock, random: Random, inFlight: () => number) {
    this.#settings = settings;
    this.#clock = clock;
    this.#random = random;
    this.#inFlight = inFlight;
  }

  /** Smoothed event-loop lag (ms). */
  get lagMs(): number {
    return this.#lagMs;
  }
  /** Requests refused since start, by reason (admin API / telemetry). */
  get shedInFlight(): number {
    return this.#shedInFlight;
  }
  get shedLag(): number {
    return this.#shedLag;
  }
  get shed(): number {
    return this.#shedInFlight + this.#shedLag;
  }
  /** True while new requests are being (partly) refused. */
  get overloaded(): boolean {
    return this.#settings.enabled && this.#lagMs > this.#settings.maxEventLoopLagMs;
  }

  update(settings: AdmissionSettings): void {
    this.#settings = settings;
  }

  start(): void {
    this.#started = true;
    if (!this.#timer) this.#schedule();
  }

  /** True while the lag probe runs (it rests while the proxy is idle). */
  get probing(): boolean {
    return this.#timer !== undefined;
  }

  #schedule(): void {
    this.#expectedAt = this.#clock.now() + PROBE_MS;
    this.#timer = this.#clock.setTimeout(this.#probe, PROBE_MS);
  }

  #probe = (): void => {
    const now = this.#clock.now();
    const lag = Math.max(0, now - this.#expectedAt);
    this.#lagMs = ALPHA * lag + (1 - ALPHA) * this.#lagMs;
    if (!this.#seen && this.#inFlight() === 0 && this.#lagMs < IDLE_LAG_MS) {
      this.#timer = undefined;
      this.#lagMs = 0;
      return;
    }
    this.#seen = false;
    this.#expectedAt = now + PROBE_MS;
    this.#timer = this.#clock.setTimeout(this.#probe, PROBE_MS);
  };

  /** Decide for one new request: admit, or refuse with the reason. Allocates nothing when admitting. */
  admit(): AdmitResult {
    this.#seen = true;
    if (this.#started && !this.#timer) this.#schedule();
    const s = this.#settings;
    if (!s.enabled) return ADMITTED;
    const inFlight = this.#inFlight();
    if (inFlight >= s.maxInFlight) {
      this.#shedInFlight++;
      return { ok: false, reason: "in_flight", detail: `${inFlight} requests in flight (bound ${s.maxInFlight})` };
    }
    const over = this.#lagMs - s.maxEventLoopLagMs;
    if (over > 0 && this.#random() < Math.min(MAX_SHED, over / s.maxEventLoopLagMs)) {
      this.#shedLag++;
      return {
        ok: false,
        reason: "event_loop_lag",
        detail: `event loop ${this.#lagMs.toFixed(0)} ms late (bound ${s.maxEventLoopLagMs} ms)`,
      };
    }
    return ADMITTED;
  }

  close(): void {
    this.#started = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
