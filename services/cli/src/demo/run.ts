/**
 * `meshtune demo` (issue #12): the product on embedded defaults. The upstream simulator
 * (three external services × five endpoints, two zones), two fleets of real proxies under the
 * same open-loop load — one steered by the tuner (`meshtune tuner` as a child process: collector,
 * engine, actuator), one alone — and a scripted story in five acts with a live view. Ends with
 * a summary per act. Ctrl-C stops everything it started.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KAFKA_TOPICS } from "@meshtune/contracts";
import { type ActWorld, applyEarly, applyFault, endFault } from "./acts.js";
import { type DemoProxy, startFleet, startStorySimulator, startTunerProcess, type TunerProcess } from "./fleet.js";
import { type ActName, actAt, buildStory, parseActName } from "./story.js";
import { runTraffic, TrafficLedger } from "./traffic.js";
import { renderLive, renderSummary } from "./view.js";
import { TuneWatcher } from "./watch.js";

export const DEMO_HELP = `Usage: meshtune demo [options]

Runs meshtune end to end on embedded defaults: an upstream simulator with three external
services (payments, geo, mail; five endpoints each across zone-a and zone-b), two fleets of
meshtune proxies under the same steady open-loop load — one steered by the tuner, one alone —
and the tuner (\`meshtune tuner\`: collector, engine, actuator) as its own process. It plays a story in acts:

  blackhole  payments ep3 never answers, from before the proxies start
  slow       geo ep2 turns 80 ms slower
  die        mail ep4 refuses connections and resets the ones it had
  surge      payments traffic ×5
  remove     geo ep5 is removed from every proxy's configuration

and shows, live, what each proxy's traffic saw, what the tuner decided and why, and each
cluster's config version converging across the tuned fleet; then a summary per act.

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379; ./dev demo starts one when none
answers). Decision events go to Kafka (KAFKA_BROKERS) or, with --no-kafka or without a
broker, to a JSON Lines file.

Options:
  --duration SECONDS   length of the whole story (default 100; 30 with --act)
  --proxies N          proxies per fleet (default 4, at most 16)
  --rps N              requests per second per proxy and service (default 10)
  --act NAME           play only this act (blackhole, slow, die, surge, remove)
  --no-kafka           write decision events to a JSON Lines file instead of Kafka
  --no-tui             plain log lines instead of a redrawn screen (for CI and pipes)
  -h, --help           show this help`;

interface DemoOptions {
  durationS: number;
  proxies: number;
  rps: number;
  act: ActName | undefined;
  kafka: boolean;
  tui: boolean;
}

function parseOptions(argv: string[]): DemoOptions | string | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      proxies: { type: "string", default: "4" },
      rps: { type: "string", default: "10" },
      act: { type: "string" },
      "no-kafka": { type: "boolean", default: false },
      "no-tui": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const act = parseActName(values.act);
  if (act instanceof Error) return act.message;
  const durationS = Number(values.duration ?? (act ? 30 : 100));
  if (!Number.isFinite(durationS) || durationS < 10 || durationS > 24 * 3600)
    return "--duration must be a number of seconds from 10 to 86400";
  const proxies = Number(values.proxies);
  if (!Number.isInteger(proxies) || proxies < 1 || proxies > 16) return "--proxies must be an integer from 1 to 16";
  const rps = Number(values.rps);
  if (!Number.isFinite(rps) || rps <= 0 || rps > 500) return "--rps must be a number from 1 to 500";
  return {
    durationS,
    proxies,
    rps,
    act,
    kafka: !values["no-kafka"],
    tui: Boolean(process.stdout.isTTY) && !values["no-tui"],
  };
}

export async function runDemo(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (parsed === "help") {
    console.log(DEMO_HELP);
    return 0;
  }
  if (typeof parsed === "string") {
    console.error(`meshtune demo: ${parsed} (see --help)`);
    return 2;
  }
  const o = parsed;
  const dir = mkdtempSync(join(tmpdir(), "meshtune-demo-"));
  const story = buildStory(o.durationS, o.act);
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const brokers = o.kafka ? process.env.KAFKA_BROKERS : undefined;
  if (o.kafka && !brokers)
    console.log(
      "decision stream: no Kafka broker (KAFKA_BROKERS unset; Java missing?) — events go to a JSON Lines file instead",
    );
  const controlKey = randomBytes(32).toString("hex");
  const prefix = `mt-demo-${Date.now().toString(36)}`;
  const stack: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const fn of stack.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const ac = new AbortController();
  const interrupt = () => ac.abort();
  // SIGHUP too: a closed terminal must not leave the fleet and the tuner running.
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  process.once("SIGHUP", interrupt);
  try {
    console.log("starting the upstream simulator (3 services × 5 endpoints) ...");
    const sim = await startStorySimulator();
    stack.push(() => sim.close());
    // Closed after the tuner: the run's keys are deleted once nothing writes them any more.
    const watcher = new TuneWatcher({ redisUrl, prefix, fleetSize: o.proxies, sim });
    stack.push(async () => {
      await watcher.purge();
      await watcher.close();
    });
    const world: ActWorld = { sim, proxies: [], removed: new Set(), surge: new Map() };
    const early = story[0]!;
    const appliedEarly = await applyEarly(world, early.fault);

    console.log("starting the tuner (collector, engine, actuator) ...");
    const tuner = await startTunerProcess({
      dir,
      redisUrl,
      kafkaBrokers: brokers,
      decisionsFile: brokers ? undefined : join(dir, "decisions.jsonl"),
      controlKey,
      prefix,
    });
    stack.push(() => tuner.close());

    console.log(`starting ${o.proxies} proxies with the tuner and ${o.proxies} alone ...`);
    const tunedFlags = [
      "--otlp-endpoint",
      tuner.collectorUrl,
      "--metrics-interval-ms",
      "1000",
      "--redis-url",
      redisUrl,
      "--redis-prefix",
      prefix,
    ];
    // The key goes in the environment, not on the command line where `ps` shows it.
    const tunedEnv = { MESHTUNE_CONTROL_KEY: controlKey };
    const [tuned, alone] = await Promise.all([
      startFleet({ fleet: "tuned", size: o.proxies, sim, dir, flags: tunedFlags, env: tunedEnv }),
      startFleet({ fleet: "alone", size: o.proxies, sim, dir, flags: ["--no-telemetry"] }),
    ]);
    const proxies: DemoProxy[] = [...tuned, ...alone];
    stack.push(() => Promise.all(proxies.map((p) => p.stop())));
    world.proxies.push(...proxies);

    printAddresses({ tuner, tuned, alone, brokers, dir });
    const ledger = new TrafficLedger();
    const started = performance.now();
    const traffic = runTraffic({
      proxies,
      rpsPerService: o.rps,
      durationMs: o.durationS * 1000,
      factor: (service) => world.surge.get(service) ?? 1,
      actAt: (ms) => actAt(story, ms / 1000),
      ledger,
      signal: ac.signal,
    });
    let current = -1;
    let finished = false;
    void traffic.finally(() => {
      finished = true;
    });
    while (!finished && !ac.signal.aborted) {
      const elapsedS = (performance.now() - started) / 1000;
      const act = actAt(story, elapsedS);
      if (act !== current) {
        if (current >= 0) endFault(world, story[current]!.fault);
        current = act;
        if (!(act === 0 && appliedEarly)) await applyFault(world, story[act]!.fault);
        if (!o.tui) console.log(`--- act ${act + 1}/${story.length} ${story[act]!.name}: ${story[act]!.what}`);
      }
      await watcher.refresh(started);
      const lines = renderLive({
        story,
        act,
        elapsedS,
        durationS: o.durationS,
        tuned,
        alone,
        ledger,
        decisions: watcher.decisions,
        convergence: watcher.convergence,
        names: watcher.names,
        notes: [],
      });
      if (o.tui) process.stdout.write(`\x1b[2J\x1b[H${lines.join("\n")}\n`);
      else for (const line of watcher.newDecisionLines()) console.log(line);
      await new Promise((r) => setTimeout(r, 1000));
    }
    ac.abort();
    await traffic;
    await watcher.refresh(started);
    console.log("");
    for (const line of renderSummary(story, ledger, watcher.decisionsPerAct(story))) console.log(line);
    console.log(`\nlogs and configs of this run: ${dir}`);
    return 0;
  } finally {
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
    process.removeListener("SIGHUP", interrupt);
    console.log("stopping the proxies, the tuner and the simulator ...");
    await stopAll();
  }
}

function printAddresses(a: {
  tuner: TunerProcess;
  tuned: readonly DemoProxy[];
  alone: readonly DemoProxy[];
  brokers?: string;
  dir: string;
}): void {
  console.log(`collector (OTLP/HTTP): ${a.tuner.collectorUrl}   actuator admin: ${a.tuner.actuatorAdminUrl}`);
  console.log(`tuner /metrics: ${a.tuner.metricsUrls.join("  ")}`);
  console.log(`proxy admin APIs (/clusters, /metrics): ${[...a.tuned, ...a.alone].map((p) => p.adminUrl).join(" ")}`);
  if (a.brokers)
    console.log(
      `decision stream: Kafka topic ${KAFKA_TOPICS.decisions} on ${a.brokers} — watch it: kcat -b ${a.brokers} -t ${KAFKA_TOPICS.decisions} -C -f '%k %s\\n'`,
    );
  else
    console.log(
      `decision stream: ${join(a.dir, "decisions.jsonl")} — watch it: tail -f ${join(a.dir, "decisions.jsonl")}`,
    );
}
