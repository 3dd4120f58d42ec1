/**
 * The inactivity deadline of one pooled HTTP/1.1 connection (h1-client.ts): one lazily armed
 * timer per connection on the injected Clock, not one per request (issue #15: a timer per
 * request was among the costs of the old forwarder). Each byte written or read moves the
 * deadline with a plain assignment; the timer, when it fires, re-arms itself for what is left,
 * and lapses when the connection is idle.
 */
import type { Clock, TimerHandle } from "../clock.js";

/** What the deadline is watching: "idle" (nothing to time), "held" (waiting on the client, not the server) or "running". */
export type DeadlineState = "idle" | "held" | "running";

export interface DeadlineWatch {
  deadlineState(): DeadlineState;
  /** No byte for `timeoutMs` while running. */
  expire(timeoutMs: number): void;
}

export class IdleDeadline {
  readonly #clock: Clock;
  readonly #watch: DeadlineWatch;
  #timeoutMs = 0;
  #last = 0;
  #timer: TimerHandle | undefined;
  #due = 0;

  constructor(clock: Clock, watch: DeadlineWatch) {
    this.#clock = clock;
    this.#watch = watch;
  }

  /** The timeout of the request starting now; 0, negative or not finite: none. */
  start(timeoutMs: number): void {
    this.#timeoutMs = timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs : 0;
    this.touch();
  }

  /** Activity: the deadline is `timeoutMs` from now. */
  touch(): void {
    if (this.#timeoutMs <= 0) return;
    const now = this.#clock.now();
    this.#last = now;
    if (this.#timer && this.#due <= now + this.#timeoutMs) return;
    this.#timer?.cancel(); // armed for a longer timeout than this request's
    this.#arm(this.#timeoutMs);
  }

  /**
   * The connection is gone: without this the timer's closure would keep it alive until it
   * lapsed (1,000 closed connections kept 1,000 codecs alive in a review's measurement).
   */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#due = this.#clock.now() + ms;
    this.#timer = this.#clock.setTimeout(this.#onTimer, ms);
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    const state = this.#watch.deadlineState();
    if (state === "idle" || this.#timeoutMs <= 0) return;
    if (state === "held") return this.#arm(this.#timeoutMs);
    const left = this.#last + this.#timeoutMs - this.#clock.now();
    if (left > 0) return this.#arm(left);
    this.#watch.expire(this.#timeoutMs);
  };
}
