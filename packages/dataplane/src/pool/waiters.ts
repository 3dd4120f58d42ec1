/**
 * The pool's queue of requests waiting for a connection: FIFO, O(1) push/shift/cancel, and
 * one timer per queue instead of a timer, a closure and a splice per waiter (issue #15).
 *
 * Cancellation is lazy: a cancelled waiter is marked and skipped when it reaches the head, so
 * `size` is a live counter, not the array length. Every waiter gets the same pending timeout,
 * so deadlines are in queue order and one timer armed for the oldest live waiter is enough:
 * when it fires it expires every waiter that is due and re-arms for the next one.
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { AcquireResult, AcquireWaiter } from "./types.js";

/** What the pool needs from a waiting request; the request's own attempt object implements it. */
export interface PoolWaiter {
  /** Set by the queue. */
  enqueuedAt: number;
  /** Set by the queue: true while waiting (cleared when served, expired or cancelled). */
  queued: boolean;
}

/**
 * Promise form of ConnectionPool.acquireFor (tests, tools): one small waiter object per call;
 * aborting leaves the queue.
 */
export function acquirePromise(
  pool: { acquireFor(w: AcquireWaiter): AcquireResult | undefined; cancel(w: AcquireWaiter): boolean },
  signal?: AbortSignal,
): Promise<AcquireResult> | AcquireResult {
  let resolve!: (r: AcquireResult) => void;
  const promise = new Promise<AcquireResult>((r) => {
    resolve = r;
  });
  const w: AcquireWaiter = { enqueuedAt: 0, queued: false, onAcquire: (r) => resolve(r) };
  const now = pool.acquireFor(w);
  if (now) return now;
  signal?.addEventListener(
    "abort",
    () => {
      if (pool.cancel(w)) resolve({ ok: false, reason: "aborted", detail: "client went away" });
    },
    { once: true },
  );
  return promise;
}

const COMPACT_AT = 1024;

export class WaiterQueue<W extends PoolWaiter> {
  #items: (W | undefined)[] = [];
  #head = 0;
  #live = 0;
  #timer: TimerHandle | undefined;
  readonly #clock: Clock;
  readonly #timeoutMs: () => number;
  readonly #onTimeout: (w: W) => void;

  constructor(clock: Clock, timeoutMs: () => number, onTimeout: (w: W) => void) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  get size(): number {
    return this.#live;
  }

  push(w: W): void {
    w.enqueuedAt = this.#clock.now();
    w.queued = true;
    this.#items.push(w);
    this.#live++;
    if (!this.#timer) this.#arm();
  }

  /** The oldest live waiter, removed from the queue; undefined when none. */
  shift(): W | undefined {
    while (this.#head < this.#items.length) {
      const w = this.#items[this.#head];
      this.#items[this.#head++] = undefined;
      if (w?.queued) {
        w.queued = false;
        this.#live--;
        this.#compact();
        return w;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Remove a waiter (its client went away). False when it was no longer waiting. */
  cancel(w: W): boolean {
    if (!w.queued) return false;
    w.queued = false;
    this.#live--;
    if (this.#live === 0) this.clear();
    return true;
  }

  /** Every live waiter, removed (pool closed, or every connect failed). */
  drain(): W[] {
    const out: W[] = [];
    for (let w = this.shift(); w; w = this.shift()) out.push(w);
    this.clear();
    return out;
  }

  clear(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#live === 0) {
      this.#items = [];
      this.#head = 0;
    }
  }

  #peek(): W | undefined {
    for (let i = this.#head; i < this.#items.length; i++) {
      const w = this.#items[i];
      if (w?.queued) return w;
      this.#items[i] = undefined;
      this.#head = i + 1;
    }
    return undefined;
  }

  #arm(): void {
    const head = this.#peek();
    if (!head) {
      this.#timer = undefined;
      return;
    }
    const delay = Math.max(0, head.enqueuedAt + this.#timeoutMs() - this.#clock.now());
    this.#timer = this.#clock.setTimeout(this.#expire, delay);
  }

  #expire = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    const timeout = this.#timeoutMs();
    for (let w = this.#peek(); w && now - w.enqueuedAt >= timeout; w = this.#peek()) {
      this.shift();
      this.#onTimeout(w);
    }
    if (this.#live > 0) this.#arm();
  };

  #compact(): void {
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
