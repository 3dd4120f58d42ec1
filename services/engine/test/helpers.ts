import { randomUUID } from "node:crypto";
import { pingRedis, type Result } from "@meshtune/adapters";
import type { ClusterWindows } from "@meshtune/contracts";
import { FleetSim, type FleetSimOptions } from "@meshtune/engine/sim";
import type { WindowSource } from "../src/index.js";

/** The test FAILS (never skips) without Redis: a green run must mean Redis really worked. */
export async function requireRedis(): Promise<string> {
  const url = process.env.REDIS_URL;
  if (!url)
    throw new Error(
      "REDIS_URL is not set: these tests need a real Redis. Run them through `./dev test` or export REDIS_URL.",
    );
  const ping = await pingRedis(url);
  if (!ping.ok) throw new Error(`Redis is unreachable (REDIS_URL=${url}): ${ping.error}`);
  return url;
}

export const randomPrefix = () => `mt-test-engine-${randomUUID().slice(0, 8)}`;

export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A WindowSource backed by one simulated fleet per cluster, stepped to whatever second a job
 * asks for (the windows the collector would have written), and a probe of how many
 * reads of each cluster are in progress at once (reads happen under the cluster lock).
 */
export class SimWindows implements WindowSource {
  readonly #sims = new Map<string, FleetSim>();
  readonly #cache = new Map<string, ClusterWindows>();
  readonly active = new Map<string, number>();
  maxActive = 0;
  reads = 0;

  constructor(
    readonly start: number,
    readonly opts: (cluster: string) => FleetSimOptions,
  ) {}

  async read(cluster: string, at: number): Promise<Result<ClusterWindows>> {
    const n = (this.active.get(cluster) ?? 0) + 1;
    this.active.set(cluster, n);
    this.maxActive = Math.max(this.maxActive, n);
    this.reads++;
    let sim = this.#sims.get(cluster);
    if (!sim) {
      sim = new FleetSim({ ...this.opts(cluster), cluster, start: this.start });
      this.#sims.set(cluster, sim);
    }
    while (sim.now < at) this.#cache.set(`${cluster}@${sim.now + 1000}`, sim.step());
    // Hold the read a little so overlapping evaluations, if any, would be seen.
    await new Promise((r) => setTimeout(r, 5));
    const w = this.#cache.get(`${cluster}@${at}`) ?? sim.windows();
    // Reads run under the cluster lock, so two reads of one cluster at once would mean two holders.
    this.active.set(cluster, (this.active.get(cluster) ?? 1) - 1);
    return { ok: true, value: w };
  }
}
