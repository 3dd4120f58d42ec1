/**
 * The pool's warm floor: how many ready connections it keeps, raised by LB-directed warm-up,
 * the control plane and the predictive scaler (issue #5) and lowered again by them, filled
 * asynchronously and refilled when a connection closes.
 *
 * When the peer closed a connection soon after it opened, refilling at once would hammer an
 * upstream that accepts and then drops connections (review finding #3): back off
 * exponentially and report it as a local-origin failure instead.
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { Host } from "../host.js";
import type { PooledConnection } from "./connection.js";
import { type ConnectPurpose, MAX_CONNECTING } from "./types.js";

/** A connection the peer closes within this long of opening counts as churn. */
const EARLY_CLOSE_MS = 1_000;
const REFILL_BACKOFF_MS = 100;
const MAX_REFILL_BACKOFF_MS = 10_000;

/** What the floor reads of its pool. */
export interface FloorPool {
  readonly host: Host;
  readonly maxConnections: number;
  /** Open plus opening connections. */
  readonly total: number;
  readonly connecting: number;
}

export class WarmFloor {
  readonly #pool: FloorPool;
  readonly #clock: Clock;
  readonly #open: (purpose: ConnectPurpose) => void;
  #target: number;
  #refillTimer: TimerHandle | undefined;
  /** Consecutive early peer closes, for refill backoff. */
  #churn = 0;

  constructor(pool: FloorPool, clock: Clock, target: number, open: (purpose: ConnectPurpose) => void) {
    this.#pool = pool;
    this.#clock = clock;
    this.#target = target;
    this.#open = open;
  }

  get target(): number {
    return this.#target;
  }

  /** Sets the floor (bounded by maxConnections) and starts opening up to it. */
  set(n: number): void {
    this.#target = Math.max(0, Math.min(n, this.#pool.maxConnections));
    this.fill("scale");
  }

  /** Raises the floor to `n` (warm-up); never lowers it. Opens nothing itself. */
  raise(n: number): void {
    this.#target = Math.max(this.#target, Math.min(n, this.#pool.maxConnections));
  }

  fill(purpose: ConnectPurpose): void {
    // A host taken out (failed warm-up, health check, ejection, drain) is not kept warm: its
    // connections would only be refilled as fast as they fail. Warm-up re-warms it on recovery.
    const p = this.#pool;
    if (!p.host.available) return;
    const want = Math.min(this.#target, p.maxConnections) - p.total;
    for (let i = 0; i < want && p.connecting < MAX_CONNECTING; i++) this.#open(purpose);
  }

  /**
   * `c` closed while the pool is open: refill now, or for churn call `onChurn(livedMs)` and
   * refill after the backoff (one pending refill at most) if `stillOpen()` then.
   */
  closed(c: PooledConnection, stillOpen: () => boolean, onChurn: (livedMs: number) => void): void {
    const lived = this.#clock.now() - c.createdAt;
    if (!c.closedByPool && lived < EARLY_CLOSE_MS) {
      this.#churn = Math.min(this.#churn + 1, 10);
      onChurn(lived);
      if (this.#refillTimer) return;
      const delay = Math.min(MAX_REFILL_BACKOFF_MS, REFILL_BACKOFF_MS * 2 ** (this.#churn - 1));
      this.#refillTimer = this.#clock.setTimeout(() => {
        this.#refillTimer = undefined;
        if (stillOpen()) this.fill("refill");
      }, delay);
      return;
    }
    if (lived >= EARLY_CLOSE_MS) this.#churn = 0;
    this.fill("refill");
  }

  cancel(): void {
    this.#refillTimer?.cancel();
  }
}
