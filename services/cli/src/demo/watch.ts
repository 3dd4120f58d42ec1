/**
 * What the demo shows of the tuner, read the way any operator could: the decision streams
 * and the snapshot version / ACK keys in Redis (names from @meshtune/contracts).
 */
import { createRedis, deleteMatching, type Redis } from "@meshtune/adapters";
import { type ConfigAck, type Decision, redisKeys } from "@meshtune/contracts";
import type { Simulator } from "@meshtune/testkit";
import type { Act } from "./story.js";
import { SERVICES } from "./story.js";
import { type Convergence, describeDecision } from "./view.js";

export class TuneWatcher {
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof redisKeys>;
  readonly #fleetSize: number;
  readonly #prefix: string;
  readonly #printed = new Set<string>();
  #all: Decision[] = [];
  #convergence: Convergence[] = [];
  #wallStart = 0;
  readonly names: ReadonlyMap<string, string>;

  constructor(opts: { redisUrl: string; prefix: string; fleetSize: number; sim: Simulator }) {
    this.#redis = createRedis(opts.redisUrl, { name: "meshtune-demo" });
    this.#redis.on("error", () => undefined);
    this.#keys = redisKeys(opts.prefix);
    this.#prefix = opts.prefix;
    this.#fleetSize = opts.fleetSize;
    this.names = new Map(opts.sim.endpoints.map((e) => [`127.0.0.1:${e.port}`, e.name]));
  }

  /** Newest first. */
  get decisions(): readonly Decision[] {
    return this.#all;
  }
  get convergence(): readonly Convergence[] {
    return this.#convergence;
  }

  async refresh(startedMonotonic: number): Promise<void> {
    if (this.#wallStart === 0) this.#wallStart = Date.now() - (performance.now() - startedMonotonic);
    try {
      const all: Decision[] = [];
      const conv: Convergence[] = [];
      for (const s of SERVICES) {
        const entries = await this.#redis.xrevrange(this.#keys.decisions(s.cluster), "+", "-", "COUNT", 200);
        for (const [, fields] of entries) {
          const i = fields.indexOf("d");
          if (i >= 0 && fields[i + 1]) all.push(JSON.parse(fields[i + 1]!) as Decision);
        }
        const version = Number((await this.#redis.get(this.#keys.snapshotVersion(s.cluster))) ?? 0);
        if (version > 0) conv.push(await this.#convergenceOf(s.cluster, version));
      }
      this.#all = all.sort((a, b) => b.decidedAt.localeCompare(a.decidedAt));
      this.#convergence = conv;
    } catch {
      // Redis blipped: keep showing the last view; the next refresh tries again.
    }
  }

  async #convergenceOf(cluster: string, version: number): Promise<Convergence> {
    const acks = Object.values(await this.#redis.hgetall(this.#keys.acks(cluster))).map(
      (v) => JSON.parse(v) as ConfigAck,
    );
    const current = acks.filter((a) => a.version === version);
    return {
      cluster,
      version,
      acked: current.filter((a) => a.status === "ACK").length,
      nacked: current.filter((a) => a.status === "NACK").length,
      total: this.#fleetSize,
    };
  }

  /** Decisions not printed yet, oldest first, one line each (the --no-tui log). */
  newDecisionLines(): string[] {
    const fresh = this.#all.filter((d) => !this.#printed.has(d.id)).reverse();
    for (const d of fresh) this.#printed.add(d.id);
    return fresh.map((d) => `decision ${d.id} ${d.cluster} ${describeDecision(d, this.names)}`);
  }

  /** Decisions per act; those made while the fleets warmed up count for the first act. */
  decisionsPerAct(story: readonly Act[]): number[] {
    const counts = story.map(() => 0);
    for (const d of this.#all) {
      const s = (Date.parse(d.decidedAt) - this.#wallStart) / 1000;
      const i = story.findIndex((a) => s < a.endS);
      counts[i === -1 ? story.length - 1 : i]!++;
    }
    return counts;
  }

  /** Deletes every key of this demo run (its own prefix), so runs leave nothing behind in Redis. */
  async purge(): Promise<void> {
    // The run's own keys, and BullMQ's below the hash-tagged queue prefix.
    for (const match of [`${this.#prefix}:*`, `${this.#keys.queuePrefix()}*`]) await deleteMatching(this.#redis, match);
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
