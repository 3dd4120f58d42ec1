/**
 * The pool's connections and their O(1) accounting (issue #15; the LB scores every
 * candidate's pool on every pick): idle connections on a LIFO stack (the most recently used
 * first, so older ones stay idle and the sweep trims them, and h2 connections fill before
 * another is used), the idle total a counter written only by markIdle/markBusy, and the
 * count of connections being opened (TCP/TLS, and for warm-up the on-connection check).
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { PooledConnection } from "./connection.js";

export class ConnectionSet {
  readonly #conns = new Set<PooledConnection>();
  /** Connections with spare capacity, most recently used on top (stale entries skipped lazily). */
  readonly #stack: PooledConnection[] = [];
  /** Connections with no request in flight; written only by markIdle / markBusy. */
  #idle = 0;
  /** Connections being opened, counted in and out by beginOpen / endOpen. */
  #connecting = 0;
  /**
   * Open connections carrying their priming check (beginPrime / endPrime): in the total, so the
   * warm floor does not open others in their place, but not "connecting", so a request that
   * arrives meanwhile gets a demand connection instead of waiting for the check.
   */
  #priming = 0;

  /** Open connections (not counting those being opened). */
  get size(): number {
    return this.#conns.size;
  }
  get idle(): number {
    return this.#idle;
  }
  get connecting(): number {
    return this.#connecting;
  }
  beginOpen(): void {
    this.#connecting++;
  }
  endOpen(): void {
    this.#connecting--;
  }
  get priming(): number {
    return this.#priming;
  }
  beginPrime(): void {
    this.#priming++;
  }
  endPrime(): void {
    this.#priming--;
  }
  /** Open connections plus those being opened or primed: what the maxConnections breaker bounds. */
  get total(): number {
    return this.#conns.size + this.#connecting + this.#priming;
  }

  /** A new connection joins, idle and on top of the stack. */
  add(conn: PooledConnection): void {
    this.#conns.add(conn);
    this.markIdle(conn);
    conn.stacked = true;
    this.#stack.push(conn);
  }

  /** A connection closed. */
  delete(c: PooledConnection): void {
    this.#conns.delete(c);
    this.markBusy(c);
  }

  markIdle(c: PooledConnection): void {
    if (!c.countedIdle && !c.closed) {
      c.countedIdle = true;
      this.#idle++;
    }
  }

  markBusy(c: PooledConnection): void {
    if (c.countedIdle) {
      c.countedIdle = false;
      this.#idle--;
    }
  }

  /** The connection to use next (top of the stack with capacity), left on the stack. */
  pickIdle(): PooledConnection | undefined {
    const st = this.#stack;
    while (st.length > 0) {
      const c = st[st.length - 1]!;
      if (c.hasCapacity) return c;
      st.pop();
      c.stacked = false;
    }
    return undefined;
  }

  /** One more request on `conn` (just returned by pickIdle); it leaves the stack once full. */
  take(conn: PooledConnection): void {
    conn.inFlight++;
    this.markBusy(conn);
    if (conn.inFlight >= conn.capacity && conn.stacked && this.#stack[this.#stack.length - 1] === conn) {
      this.#stack.pop();
      conn.stacked = false;
    }
  }

  /** A connection with capacity again goes back on top of the stack. */
  restack(conn: PooledConnection): void {
    if (!conn.stacked && conn.hasCapacity) {
      conn.stacked = true;
      this.#stack.push(conn);
    }
  }

  /** Close connections idle longer than idleTimeoutMs, keeping `floor` connections. */
  sweep(now: number, idleTimeoutMs: number, floor: number): void {
    let keep = this.#conns.size;
    const idle = [...this.#conns].filter((c) => c.inFlight === 0).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    for (const c of idle) {
      if (keep <= floor) break;
      if (now - c.lastUsedAt >= idleTimeoutMs) {
        c.retire();
        keep--;
      }
    }
  }

  /**
   * Close every connection once its in-flight requests and h2 streams finished; after
   * timeoutMs destroy the rest. Resolves to how many were destroyed.
   */
  async closeAll(clock: Clock, timeoutMs: number): Promise<number> {
    const conns = [...this.#conns];
    let forced = 0;
    const graceful = Promise.all(conns.map((c) => c.closeGracefully()));
    let timer: TimerHandle | undefined;
    const deadline = new Promise<"timeout">((r) => {
      timer = clock.setTimeout(() => r("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([graceful.then(() => "done" as const), deadline]);
    timer?.cancel();
    if (outcome === "timeout") {
      for (const c of this.#conns) {
        forced++;
        c.retire();
      }
    }
    return forced;
  }

  retireAll(): void {
    for (const c of [...this.#conns]) c.retire();
  }

  /** Per-connection detail for /clusters. */
  describe(): { id: number; protocol: string; state: string; requests: number; inFlight: number }[] {
    return [...this.#conns].map((c) => ({
      id: c.id,
      protocol: c.protocol,
      state: c.state,
      requests: c.requests,
      inFlight: c.inFlight,
    }));
  }
}
