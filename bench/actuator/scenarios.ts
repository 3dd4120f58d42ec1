/** The parts of the actuator benchmark (see run.ts for what each measures). */
import { redisChannels, redisKeys } from "../../packages/contracts/dist/index.js";
import { type Fleet, startFleet } from "./fleet.ts";
import { BURST, CLUSTER, decision, dir, N, ports, ROUNDS, redis, sim, sleep, summary, withTuner } from "./harness.ts";

export async function latency() {
  return withTuner(async ({ prefix, write, acks: watcher }) => {
    const perProxy: number[] = [];
    const perVersion: number[] = [];
    const toPublished: number[] = [];
    const publishedToApplied: number[] = [];
    const ep = `127.0.0.1:${ports[0]}`;
    await sleep(500);
    const WARMUP = 5; // first rounds: JIT and connection set-up in 20 fresh processes, not counted
    for (let i = 1; i <= ROUNDS + WARMUP; i++) {
      const t0 = Date.now();
      await write(decision(prefix, "set_weight", ep, { weight: 100 + (i % 2) }));
      const acks = await watcher.answers(i, N);
      const ms = acks.map((a) => a.at - t0);
      await sleep(100);
      if (i <= WARMUP) continue;
      perProxy.push(...ms);
      perVersion.push(Math.max(...ms));
      const hist = await redis.hget(redisKeys(prefix).snapshotHistory(CLUSTER), String(i));
      const issuedAt = (JSON.parse(JSON.parse(hist ?? "{}").payload) as { issuedAt: number }).issuedAt;
      toPublished.push(issuedAt - t0);
      publishedToApplied.push(...acks.map((a) => a.at - issuedAt));
    }
    return {
      proxies: N,
      rounds: ROUNDS,
      decisionToAppliedMs: summary(perProxy),
      decisionToFleetAppliedMs: summary(perVersion),
      /** Split: decision written -> version committed (actuator), committed -> applied (pub/sub + proxy). */
      decisionToPublishedMs: summary(toPublished),
      publishedToAppliedMs: summary(publishedToApplied),
    };
  });
}

export async function burst() {
  return withTuner(async ({ prefix, acks }) => {
    const keys = redisKeys(prefix);
    await sleep(500);
    const t0 = Date.now();
    const pipe = redis.pipeline();
    let lastXadd = 0;
    for (let i = 0; i < BURST; i++) {
      const d = decision(prefix, "set_weight", `127.0.0.1:${ports[i % 3]}`, { weight: 1 + (i % 997) });
      pipe.xadd(keys.decisions(CLUSTER), "*", "d", JSON.stringify(d));
      lastXadd = pipe.length - 1;
      if (i % 10 === 0) pipe.publish(redisChannels(prefix).decisions(), CLUSTER);
    }
    pipe.sadd(keys.clusters(), CLUSTER);
    pipe.publish(redisChannels(prefix).decisions(), CLUSTER);
    const replies = (await pipe.exec()) ?? [];
    const written = Date.now();
    const lastId = String(replies[lastXadd]?.[1]);
    while ((await redis.get(keys.actuatorCursor(CLUSTER))) !== lastId) await sleep(2);
    const folded = Date.now();
    const version = Number(await redis.get(keys.snapshotVersion(CLUSTER)));
    await acks.answers(version, N);
    const applied = Date.now();
    while ((await redis.xlen(keys.outbox(CLUSTER))) > 0) await sleep(5);
    const onKafka = Date.now();
    return {
      decisions: BURST,
      writeMs: written - t0,
      foldedMs: folded - t0,
      versions: version,
      decisionsPerSecond: Math.round((BURST / (folded - t0)) * 1000),
      versionsPerSecond: Math.round((version / (folded - t0)) * 1000),
      lastVersionAppliedByAllMs: applied - t0,
      allEventsOnKafkaMs: onKafka - t0,
      eventsPerSecondToKafka: Math.round((BURST / (onKafka - t0)) * 1000),
    };
  });
}

/**
 * Sustained rate: decisions at a fixed rate, each a change. The outbox (no Kafka in this phase)
 * says which version carried each decision (`configVersion`), and the ACKs when every proxy
 * had that version: decision-to-fleet-applied per decision, exactly.
 */
export async function sustained(rate: number, seconds: number) {
  return withTuner(
    async ({ prefix, write, acks }) => {
      const keys = redisKeys(prefix);
      await sleep(500);
      const writtenAt = new Map<string, number>();
      const t0 = Date.now();
      const total = Math.round(rate * seconds);
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const d = decision(prefix, "set_weight", `127.0.0.1:${ports[i % 3]}`, { weight: 1 + (i % 997) });
        writtenAt.set(d.id, Date.now());
        await write(d);
      }
      const elapsed = Date.now() - t0;
      const last = [...writtenAt.keys()].at(-1) as string;
      let carried = new Map<string, number>();
      for (let tries = 0; tries < 2_000 && !carried.has(last); tries++) {
        const entries = await redis.xrange(keys.outbox(CLUSTER), "-", "+");
        carried = new Map(
          entries.map(([, f]) => {
            const ev = JSON.parse(f[1] as string) as { id: string; data: { configVersion?: number } };
            return [ev.id, ev.data.configVersion ?? 0];
          }),
        );
        if (!carried.has(last)) await sleep(10);
      }
      const versions = new Set(carried.values());
      await acks.answers(Math.max(...versions), N);
      // A proxy may skip a version (it read a newer one first): a version counts as applied by a
      // proxy at its first ACK of that version or a later one; fleet-applied when all did.
      const all = [...acks.byVersion.values()].flat();
      const fleetApplied = (v: number) => {
        const per = new Map<string, number>();
        for (const a of all)
          if (a.status === "ACK" && a.version >= v)
            per.set(a.proxyId, Math.min(per.get(a.proxyId) ?? Number.POSITIVE_INFINITY, a.at));
        return per.size >= N ? Math.max(...per.values()) : Number.NaN;
      };
      const appliedAt = new Map([...versions].map((v) => [v, fleetApplied(v)]));
      const lat = [...writtenAt].map(([id, at]) => (appliedAt.get(carried.get(id) ?? -1) ?? Number.NaN) - at);
      return {
        rate,
        seconds,
        decisions: total,
        achievedRate: Math.round((total / elapsed) * 1000),
        versions: versions.size,
        versionsPerSecond: Math.round((versions.size / elapsed) * 1000),
        decisionToFleetAppliedMs: summary(lat.filter((x) => Number.isFinite(x))),
      };
    },
    { kafka: false },
  );
}

export const RPS = 20;
export async function loadFor(fleet: Fleet, ms: number, onTick: (t: number) => Promise<void> | void) {
  const results: Array<{ t: number; ok: boolean }> = [];
  const t0 = Date.now();
  const inflight: Promise<void>[] = [];
  for (let k = 0; Date.now() - t0 < ms; k++) {
    const due = t0 + (k * 1000) / RPS;
    if (due > Date.now()) await sleep(due - Date.now());
    for (const m of fleet.members) {
      const t = Date.now() - t0;
      inflight.push(
        fetch(`http://127.0.0.1:${m.listener}/x`, { headers: { host: "api" } })
          .then(async (r) => {
            await r.arrayBuffer();
            results.push({ t, ok: r.ok });
          })
          .catch(() => void results.push({ t, ok: false })),
      );
    }
    await onTick(Date.now() - t0);
  }
  await Promise.all(inflight);
  return results;
}

export async function fleetScenario(tuner: boolean) {
  const faultAt = 2_000;
  const run = async (fleet: Fleet, write?: (d: object) => Promise<void>, prefix?: string) => {
    let faulted = false;
    let decidedAt: number | undefined;
    // Stand-in for collector + engine: the fleet's 503s from the endpoint, counted where they
    // happen (the simulator, in this process, at no cost to the proxies), decide at one proxy's
    // threshold (5). Zero engine latency: what is measured is the actuator's push.
    const failuresOf = () => sim.endpoint("b").stats().statuses["503"] ?? 0;
    let base = 0;
    const detector = setInterval(() => {
      if (!faulted || decidedAt !== undefined || !write || !prefix) return;
      if (failuresOf() - base < 5) return;
      decidedAt = Date.now();
      void write(decision(prefix, "eject", `127.0.0.1:${ports[1]}`, { ejected: true, ejectReason: "fleet:5xx" }));
    }, 2);
    const results = await loadFor(fleet, 6_000, async (t) => {
      if (!faulted && t >= faultAt) {
        base = failuresOf();
        faulted = true;
        await sim.endpoint("b").setFaults({ errorRate: 1, errorStatus: 503 });
      }
    });
    clearInterval(detector);
    await sim.endpoint("b").resetFaults();
    return { requests: results.length, failed: results.filter((r) => !r.ok).length };
  };
  if (!tuner) {
    const fleet = await startFleet({ n: N, dir, endpoints: ports, maxRetries: 0 });
    try {
      return await run(fleet);
    } finally {
      await fleet.stop();
    }
  }
  return withTuner(({ fleet, write, prefix }) => run(fleet, write, prefix), { maxRetries: 0 });
}
