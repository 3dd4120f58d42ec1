/**
 * Demand-driven pre-connect (issue #15's 10× step goal): one meter per cluster, fed by every
 * pool's acquire, telling each pool how many connections to hold idle, connecting or primed
 * beyond its waiting requests:
 *
 *   rate  = arrivals in the last WINDOW_MS / WINDOW_MS           the cluster's, per ms
 *   spare = ceil(rate / pools × connectMs × headroom)           0 while connects are saturated
 *   want  = max(refillThreshold, min(spare, refillThreshold + AHEAD))          per pool
 *
 * i.e. the arrivals one pool's share of the cluster's current rate brings while a new
 * connection opens (Little's law over one connect time, with the scaler's headroom).
 *
 * Why the cluster's rate over a short window (measured, docs/decisions/0027): in the bench's
 * step (5 TLS endpoints, 25 ms connects, 3 warm connections each) the warm connections last
 * the first ~30 ms, so a connection that a request at 30 ms can use must start within a few
 * ms of the step. The predictive scaler sees the step at its next tick (up to 250 ms); a
 * pool's own arrivals show it only at its second request (~10 ms: five pools share the load);
 * the cluster's arrivals in the last 10 ms show it by the third (4 ms). When the spare rises
 * the cluster tops up every available pool at once (onRise), so a pool whose next request
 * comes 10 ms later has started its connection already. The window forgets at once: nothing
 * is opened ahead once traffic calms (the idle sweep trims the rest after idleTimeoutMs).
 *
 * Bounds, each from a measured failure of a looser first version (0027):
 * - AHEAD: the event loop hands over requests in batches (a 20 ms stall, then ten at once),
 *   which a 10 ms window reads as a rate several times the real one. Capped at 2 × in use
 *   + 1, then at in use + 2, each batch still opened more connections (in use is high during
 *   a stall), the handshakes (CPU in the proxy and the upstream) made the next stall, and the
 *   pools grew to ~30 per endpoint with 4 in use: 100–150 connections for a step that needs
 *   ~40, and a worse latency p99 than without the meter. At most AHEAD beyond the refill
 *   threshold is what a step's first milliseconds need (a pool that has handed out one of
 *   three warm connections opens its fourth); the steady need after it is the predictive
 *   scaler's warm floor, set from the forecast each tick.
 * - connectMs follows a faster connect at once and a slower one with weight SLOWER_WEIGHT: the
 *   cost of one new connection, not of a contended moment (a plain EWMA took the warm-up's ten
 *   concurrent handshakes, 70–200 ms, and held 20 connections per endpoint where 3 were used).
 * - Saturated: while recent connects (EWMA, weight RECENT_WEIGHT) take SATURATED × connectMs or
 *   more, the proxy or upstream is saturated and more handshakes would slow every one of them
 *   (issue #15): spare is 0, and only the refill threshold and waiting requests open.
 * - maxConnections and the per-endpoint connect cap (MAX_CONNECTING) bound every pool; the
 *   connections already connecting or primed count.
 */

/** The window arrivals are counted over (ms). */
const WINDOW_MS = 10;
/** Arrivals remembered: rates above CAPACITY / WINDOW_MS (6,400/s) read as that. */
const CAPACITY = 64;
/** Weight of a connect slower than the estimate (a faster one replaces it). */
const SLOWER_WEIGHT = 0.02;
/** Weight of each connect in the recent-connect EWMA. */
const RECENT_WEIGHT = 0.5;
/** Recent connects this many times the estimate mean saturation. */
const SATURATED = 3;
/** Connections the meter may add to a pool's refill threshold. */
export const AHEAD = 2;

export class DemandMeter {
  /** Arrival times within the window, a ring from #head (oldest) of #count entries. */
  readonly #times = new Float64Array(CAPACITY);
  #head = 0;
  #count = 0;
  #connectMs: number | undefined;
  #recentMs = 0;
  #pools = 1;
  #headroom: number;
  readonly #onRise: () => void;
  /** The spare last announced through onRise, and when. */
  #announced = 0;
  #announcedAt = Number.NEGATIVE_INFINITY;

  /** `onRise` runs when spare() rises above what was last announced (the cluster tops every pool up). */
  constructor(headroom: number, onRise: () => void = () => {}) {
    this.#headroom = headroom;
    this.#onRise = onRise;
  }

  /** Cluster arrivals per ms over the window, as of the last arrival. */
  get rate(): number {
    return this.#count / WINDOW_MS;
  }

  /** The connect time estimate (ms), undefined before the first connect. */
  get connectMs(): number | undefined {
    return this.#connectMs;
  }

  setPools(n: number): void {
    this.#pools = Math.max(1, n);
  }

  setHeadroom(h: number): void {
    this.#headroom = h;
  }

  /** A request asked one of the cluster's pools for a connection at `now`. O(1) amortised. */
  arrive(now: number): void {
    const t = this.#times;
    while (this.#count > 0 && (t[this.#head]! <= now - WINDOW_MS || this.#count === CAPACITY)) {
      this.#head = (this.#head + 1) % CAPACITY;
      this.#count--;
    }
    t[(this.#head + this.#count) % CAPACITY] = now;
    this.#count++;
    const spare = this.spare();
    if (spare > this.#announced) {
      this.#announced = spare;
      this.#announcedAt = now;
      this.#onRise();
    } else if (now - this.#announcedAt >= WINDOW_MS) {
      // Lowered at most once per window, so a rate hovering at a boundary announces rarely.
      this.#announced = spare;
      this.#announcedAt = now;
    }
  }

  /** A connection of the cluster opened in `ms` (TCP, TLS and any server-side delay). */
  connected(ms: number): void {
    const c = this.#connectMs;
    this.#connectMs = c === undefined || ms < c ? ms : c + SLOWER_WEIGHT * (ms - c);
    this.#recentMs = c === undefined ? ms : this.#recentMs + RECENT_WEIGHT * (ms - this.#recentMs);
  }

  /** Recent connects take SATURATED × the estimate or more. */
  get saturated(): boolean {
    return this.#connectMs !== undefined && this.#recentMs >= SATURATED * this.#connectMs;
  }

  /** Connections one pool should hold idle, connecting or primed beyond its waiting requests. */
  spare(): number {
    if (this.#connectMs === undefined || this.saturated) return 0;
    return Math.ceil((this.rate / this.#pools) * this.#connectMs * this.#headroom);
  }
}

/**
 * What one pool keeps idle, connecting or primed beyond its waiters (header: `want`); without
 * a meter (predictiveScaleUp off) the refill threshold alone.
 */
export function spareWanted(meterSpare: number | undefined, refillThreshold: number): number {
  if (meterSpare === undefined) return refillThreshold;
  return Math.max(refillThreshold, Math.min(meterSpare, refillThreshold + AHEAD));
}
