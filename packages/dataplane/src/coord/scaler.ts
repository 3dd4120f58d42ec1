/**
 * Predictive scale-up (seed coordination 3, second half): each tick, forecast every
 * endpoint's request rate one horizon ahead with Holt smoothing and keep
 *   ready = ceil(forecast rate × latency × headroom)   (Little's law, L = λW)
 * connections warm, never below the configured floor. When the forecast exceeds
 * idle + connecting capacity the pool pre-connects ahead; when it falls, the target drops and
 * the pool's idle sweep closes the surplus only after idleTimeoutMs (shrink slowly).
 *
 * `latencyMs` is the endpoint's *mean* upstream latency (an EWMA), not the peak-EWMA the
 * balancer scores with: one slow response must not open a burst of connections (issue #15:
 * refill and scale-up opening bursts of TLS connections on a saturated proxy). Growth is
 * capped per tick at target ≤ GROWTH × previous + STEP, so a noisy forecast ramps over a
 * few ticks instead of jumping (a 10× step still reaches its need within one tick from a
 * floor of 3: 3 × 4 + 4 = 16 ≥ 14, the coord test's case).
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { Host } from "../host.js";
import { Holt } from "./holt.js";

const GROWTH = 4;
const STEP = 4;

export interface ScalerHost {
  host: Host;
  /** Total requests picked for this host so far (monotonic). */
  picks(): number;
  /** Mean upstream latency (ms). */
  latencyMs(): number;
  /** Connect time estimate; the forecast looks this far ahead plus one tick. */
  connectMs(): number;
  floor(): number;
  setTarget(n: number): void;
}

export interface ScalerState {
  rate: number;
  forecast: number;
  target: number;
}

export class PredictiveScaler {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #headroom: number;
  readonly #hosts: () => readonly ScalerHost[];
  readonly #state = new Map<Host, { holt: Holt; lastPicks: number; out: ScalerState }>();
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(opts: { clock: Clock; intervalMs: number; headroom: number; hosts: () => readonly ScalerHost[] }) {
    this.#clock = opts.clock;
    this.#intervalMs = opts.intervalMs;
    this.#headroom = opts.headroom;
    this.#hosts = opts.hosts;
  }

  start(): void {
    const loop = () => {
      this.#timer = this.#clock.setTimeout(() => {
        this.tick();
        if (!this.#closed) loop();
      }, this.#intervalMs);
    };
    loop();
  }

  state(host: Host): ScalerState | undefined {
    return this.#state.get(host)?.out;
  }

  tick(): void {
    const seen = new Set<Host>();
    for (const h of this.#hosts()) {
      seen.add(h.host);
      let s = this.#state.get(h.host);
      const picks = h.picks();
      if (!s) {
        s = { holt: new Holt(), lastPicks: picks, out: { rate: 0, forecast: 0, target: h.floor() } };
        this.#state.set(h.host, s);
        continue;
      }
      const rate = ((picks - s.lastPicks) * 1000) / this.#intervalMs;
      s.lastPicks = picks;
      s.holt.observe(rate);
      const steps = 1 + h.connectMs() / this.#intervalMs;
      const forecast = Math.max(rate, s.holt.forecast(steps));
      const need = Math.ceil(((forecast * h.latencyMs()) / 1000) * this.#headroom);
      const floor = h.floor();
      const cap = Math.max(floor, s.out.target) * GROWTH + STEP;
      const target = Math.max(floor, Math.min(need, cap));
      s.out = { rate, forecast, target };
      h.setTarget(target);
    }
    for (const host of this.#state.keys()) if (!seen.has(host)) this.#state.delete(host);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
  }
}
