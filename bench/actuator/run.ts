/**
 * Actuator benchmark (issue #11; not a test: figures go to bench/results/actuator-*.json).
 *
 *   node bench/actuator/run.ts [--proxies 20] [--rounds 100] [--burst 2000] [--quick]
 *   (REDIS_URL and KAFKA_BROKERS from the environment: `set -a; . .run/services.env; set +a`)
 *
 * 1. latency  — decision-to-applied across N real proxy processes: a decision is written to the
 *    engine's stream at t0; each proxy's ACK carries the Unix ms it applied the version (same
 *    machine clock). Per-proxy samples (p50/p99, goal p99 <= 500 ms; istiod documents "mostly
 *    under 1 s") and per-version time until the last proxy applied it.
 * 2. burst    — sustained publish rate: B decisions written back to back; decisions folded per
 *    second, versions published per second, until every proxy applied the final version, and
 *    until every event was on Kafka.
 * 3. fleet    — DESIGN.md section 8: N proxies at 20 rps each, one of three endpoints starts
 *    failing every request; client-visible failures (retries off) with proxies alone versus
 *    with the tuner. The engine has not landed: a stand-in detector (this script) polls every
 *    proxy's /clusters every 20 ms and writes the engine's eject decision once the fleet's
 *    consecutive 5xx toward the endpoint reach one proxy's threshold (5).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRedis, silentLogger } from "../../packages/adapters/dist/index.js";
import { redisChannels, redisKeys } from "../../packages/contracts/dist/index.js";
import { startSimulatorWith } from "../../packages/testkit/dist/index.js";
import { startActuator } from "../../services/actuator/dist/index.js";
import { type Fleet, startFleet } from "./fleet.ts";

const { values } = parseArgs({
  options: {
    proxies: { type: "string", default: "20" },
    rounds: { type: "string", default: "100" },
    burst: { type: "string", default: "2000" },
    quick: { type: "boolean", default: false },
    /** Run only these parts (comma-separated: latency,burst,sustained,fleet). */
    only: { type: "string", default: "latency,burst,sustained,fleet" },
  },
});
const N = Number(values.proxies);
const ONLY = new Set(values.only.split(","));
const ROUNDS = values.quick ? 20 : Number(values.rounds);
const BURST = values.quick ? 300 : Number(values.burst);
const redisUrl = process.env.REDIS_URL;
const brokers = process.env.KAFKA_BROKERS;
if (!redisUrl || !brokers) throw new Error("REDIS_URL and KAFKA_BROKERS must be set (. .run/services.env)");

const KEY = "bench:6d2f0c8e4b1a97f35e0d2c4b6a8f1e3d";
const CLUSTER = "api";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};
const summary = (xs: number[]) => ({
  n: xs.length,
  p50: pct(xs, 50),
  p90: pct(xs, 90),
  p99: pct(xs, 99),
  max: Math.max(...xs),
});
const redis = createRedis(redisUrl, { name: "bench-actuator" });
const sim = await startSimulatorWith([{ name: "a" }, { name: "b" }, { name: "c" }]);
const ports = sim.endpoints.map((e) => e.port);
const dir = mkdtempSync(join(tmpdir(), "meshtune-bench-actuator-"));
let seq = 0;

function decision(prefix: string, kind: string, endpoint: string, after: Record<string, unknown>) {
  return {
    apiVersion: "meshtune.io/decision/v1alpha1",
    id: `${prefix}-${++seq}`,
    cluster: CLUSTER,
    endpoint,
    kind,
    rule: "bench",
    reason: "bench",
    inputs: {},
    before: {},
    after,
    dryRun: false,
    decidedAt: new Date().toISOString(),
  };
}

type Acks = Awaited<ReturnType<typeof ackWatcher>>;
async function withTuner<T>(
  fn: (ctx: { prefix: string; fleet: Fleet; acks: Acks; write: (d: object) => Promise<void> }) => Promise<T>,
  opts: { maxRetries?: number; kafka?: boolean } = {},
) {
  const prefix = `bench-${Date.now().toString(36)}`;
  const acks = await ackWatcher(prefix);
  const actuator = await startActuator({
    redisUrl,
    prefix,
    // Without Kafka the events stay in the outbox, where the sustained phase reads which
    // version carried each decision.
    kafkaBrokers: opts.kafka === false ? undefined : brokers,
    topic: `meshtune.decisions.bench.${prefix}`,
    controlKey: KEY,
    admin: false,
    logger: silentLogger(),
  });
  const fleet = await startFleet({
    n: N,
    dir,
    endpoints: ports,
    redis: { url: redisUrl as string, prefix, key: KEY },
    ...opts,
  });
  const keys = redisKeys(prefix);
  // What the engine does, in one round trip: XADD the decision, register the cluster, announce.
  const write = async (d: object) => {
    await redis
      .pipeline()
      .xadd(keys.decisions(CLUSTER), "*", "d", JSON.stringify(d))
      .sadd(keys.clusters(), CLUSTER)
      .publish(redisChannels(prefix).decisions(), CLUSTER)
      .exec();
  };
  try {
    return await fn({ prefix, fleet, acks, write });
  } finally {
    await fleet.stop();
    await actuator.close();
    await acks.close();
  }
}

/**
 * The proxies' answers, event-driven (a subscription to the acks channel, not polling, so the
 * harness does not steal CPU from the actuator it measures). `answers(v, n)` resolves once n
 * proxies answered version v.
 */
async function ackWatcher(prefix: string) {
  const sub = redis.duplicate();
  type Ack = { proxyId: string; version: number; at: number; status: string };
  const byVersion = new Map<number, Ack[]>();
  const waiters = new Set<() => void>();
  sub.on("message", (_ch: string, msg: string) => {
    const a = JSON.parse(msg) as Ack;
    byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a]);
    for (const w of waiters) w();
  });
  await sub.subscribe(redisChannels(prefix).acks(CLUSTER));
  return {
    byVersion,
    answers(version: number, n: number, timeoutMs = 30_000) {
      return new Promise<Ack[]>((resolve, reject) => {
        const check = () => {
          const got = byVersion.get(version) ?? [];
          if (got.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(got);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`version ${version}: fewer than ${n} answers within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => sub.quit(),
  };
}

async function latency() {
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

async function burst() {
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
async function sustained(rate: number, seconds: number) {
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

const RPS = 20;
async function loadFor(fleet: Fleet, ms: number, onTick: (t: number) => Promise<void> | void) {
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

async function fleetScenario(tuner: boolean) {
  const faultAt = 2_000;
  const run = async (fleet: Fleet, write?: (d: object) => Promise<void>, prefix?: string) => {
    let faulted = false;
    let decidedAt: number | undefined;
    const poll = async () => {
      if (!faulted || decidedAt !== undefined || !write || !prefix) return;
      let consecutive = 0;
      await Promise.all(
        fleet.members.map(async (m) => {
          const body = (await (await fetch(`http://127.0.0.1:${m.admin}/clusters`)).json()) as {
            clusters: Array<{
              endpoints: Array<{ endpoint: string; outlier?: { ejected: boolean; consecutive: { http5xx: number } } }>;
            }>;
          };
          const e = body.clusters[0]?.endpoints.find((x) => x.endpoint === `127.0.0.1:${ports[1]}`);
          consecutive += e?.outlier?.ejected ? 5 : (e?.outlier?.consecutive.http5xx ?? 0);
        }),
      );
      if (consecutive >= 5 && decidedAt === undefined) {
        decidedAt = Date.now();
        await write(decision(prefix, "eject", `127.0.0.1:${ports[1]}`, { ejected: true, ejectReason: "fleet:5xx" }));
      }
    };
    let lastPoll = 0;
    const results = await loadFor(fleet, 6_000, async (t) => {
      if (!faulted && t >= faultAt) {
        faulted = true;
        await sim.endpoint("b").setFaults({ errorRate: 1, errorStatus: 503 });
      }
      if (t - lastPoll >= 20) {
        lastPoll = t;
        void poll();
      }
    });
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

const startedAt = new Date().toISOString();
const os = await import("node:os");
const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `actuator-${startedAt.replace(/[:.]/g, "-")}${values.quick ? "-quick" : ""}.json`);
const out: Record<string, unknown> = {
  scenario: "actuator",
  startedAt,
  machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: os.loadavg() },
  goals: { decisionToAppliedP99Ms: 500, fleetFailuresVsOneProxy: 1.5 },
};
/** Written after every part, so a later failure keeps what was measured. */
const save = (part: string, value: unknown) => {
  out[part] = value;
  out.loadAverageAtEnd = os.loadavg();
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.error(`[bench] ${part} ${JSON.stringify(value)}`);
};
console.error(`[bench] actuator: ${N} proxies, ${ROUNDS} rounds, burst ${BURST}, parts ${[...ONLY].join(",")}`);
if (ONLY.has("latency")) {
  const lat = await latency();
  save("latency", { ...lat, met: lat.decisionToAppliedMs.p99 <= 500 });
}
if (ONLY.has("burst")) save("burst", await burst());
if (ONLY.has("sustained")) {
  const sus = [];
  for (const rate of values.quick ? [100] : [50, 200, 500]) sus.push(await sustained(rate, values.quick ? 2 : 5));
  save("sustained", sus);
}
if (ONLY.has("fleet")) {
  const alone = await fleetScenario(false);
  const tuned = await fleetScenario(true);
  save("fleet", {
    proxies: N,
    rpsPerProxy: RPS,
    failedAlone: alone.failed,
    failedWithTuner: tuned.failed,
    oneProxyThreshold: 5,
    ratioAloneToOneProxy: alone.failed / 5,
    ratioTunerToOneProxy: tuned.failed / 5,
    met: tuned.failed / 5 <= 1.5,
    requests: { alone: alone.requests, tuner: tuned.requests },
    detector: "stand-in (this script polls every proxy's /clusters every 20 ms; the engine is not wired yet)",
  });
}
// A full run (every part, not --quick) is also the committed `actuator-latest.json`.
if (!values.quick && ONLY.size === 4)
  writeFileSync(join(resultsDir, "actuator-latest.json"), `${JSON.stringify(out, null, 2)}\n`);
console.error(`[bench] wrote ${file}`);
await sim.close();
await redis.quit();
rmSync(dir, { recursive: true, force: true });
