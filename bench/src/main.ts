#!/usr/bin/env node
/**
 * meshtune scenario benchmarks: meshtune's proxy, HAProxy and NGINX against the project's own
 * upstream simulator and open-loop load generator, in the same run, on loopback.
 *
 *   ./dev bench [--quick] [--scenario NAME]...
 *
 * Results: bench/results/<timestamp>.json, plus latest.json for a full run of every scenario
 * (latest-partial.json for --quick or --scenario runs, so a smoke test never replaces the
 * committed figures). See bench/README.md.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { testCerts } from "@meshtune/testkit";
import { errorMessage, progress } from "./lib/log.js";
import { installCleanup, stopAll } from "./lib/procs.js";
import type { Ctx, Scenario, ScenarioResult } from "./lib/run.js";
import { writeReport } from "./report/report-md.js";
import { type Results, renderMarkdown, renderText } from "./report.js";
import { blackhole } from "./scenarios/blackhole.js";
import { coldstart } from "./scenarios/coldstart.js";
import { fleet } from "./scenarios/fleet.js";
import { overhead } from "./scenarios/overhead.js";
import { peak } from "./scenarios/peak.js";
import { slow } from "./scenarios/slow.js";
import { step } from "./scenarios/step.js";
import { tunerFleet } from "./scenarios/tuner-fleet.js";
import { HAPROXY_BIN } from "./systems/haproxy.js";
import { REPO_ROOT } from "./systems/meshtune.js";
import { NGINX_BIN } from "./systems/nginx.js";

const SCENARIOS: Scenario[] = [overhead, peak, blackhole, slow, step, coldstart, fleet, tunerFleet];

const USAGE = `Usage: ./dev bench [--quick] [--scenario NAME]...

Runs meshtune's proxy, HAProxy and NGINX against the upstream simulator with the open-loop
load generator and writes bench/results/<timestamp>.json (and latest.json for a full run).

Options:
  --quick            Short durations (under 5 minutes in all, 4 min 49 s measured): a smoke test, not figures to quote
  --pin              Pin the proxy under test to the last CPU with taskset
  --no-priority      Do not raise the benchmark's priority (default: nice -10 when root)
  --render FILE      From a saved results JSON, without running anything: print its table and rewrite
                     the markdown report next to it (<stamp>.md, and latest.md plus the README
                     figures if it is a full run, latest-partial.md otherwise)
  --fuzz [--runs N]  Instead: the long fuzz run, 10,000 cases per property (bench/fuzz/run.mjs)
  --scenario NAME    Run only this scenario (repeatable, or comma-separated): ${SCENARIOS.map((s) => s.name).join(", ")}
  -h, --help         Show this help`;

function ensureProxiesInstalled(): string | undefined {
  if (existsSync(HAPROXY_BIN) && existsSync(NGINX_BIN)) return undefined;
  progress("haproxy/nginx missing: apt-get update && apt-get install -y haproxy nginx");
  // RUNLEVEL=1 keeps the packages' init scripts from starting system-wide daemons.
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", RUNLEVEL: "1" };
  const up = spawnSync("apt-get", ["update"], { stdio: ["ignore", 2, 2], env, timeout: 300_000 });
  const inst = spawnSync("apt-get", ["install", "-y", "haproxy", "nginx"], {
    stdio: ["ignore", 2, 2],
    env,
    timeout: 600_000,
  });
  if (up.status !== 0 || inst.status !== 0 || !existsSync(HAPROXY_BIN) || !existsSync(NGINX_BIN)) {
    return "could not install haproxy and nginx with apt-get (run as root on Debian/Ubuntu)";
  }
  return undefined;
}

/** The commit measured, and whether the proxy's sources had uncommitted changes at the time. */
function gitState(): Record<string, unknown> {
  const git = (args: string[]) =>
    spawnSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 5_000 }).stdout?.trimEnd() ?? "";
  const dirty = git(["status", "--porcelain", "--", "packages", "services"])
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { gitCommit: git(["rev-parse", "HEAD"]).trim(), uncommittedProxySources: dirty };
}

function versionOf(cmd: string, args: string[]): string {
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5_000 });
    return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * By default nothing is pinned: every proxy is limited to one thread of execution by its own
 * configuration (meshtune: one Node.js event loop; HAProxy nbthread 1; NGINX one worker), and
 * the scheduler is free to place it. On a small shared machine pinning the proxy to one core
 * made it compete there with the load generator, the simulator and other work, which hurt the
 * proxy that needs most CPU far more than the others. `--pin` pins the proxy to the last core.
 */
/**
 * Runs the harness and every process it starts (they inherit it) at nice -10 when allowed
 * (root), so that other work on a shared machine disturbs the measurement less. Every system
 * under test gets the same priority.
 */
function raisePriority(): string {
  try {
    os.setPriority(-10);
    return "nice -10 (load generator, simulator and proxies inherit it)";
  } catch {
    return "default (could not raise priority)";
  }
}

function pinCpus(pin: boolean): { proxyCpus: string | undefined; harnessCpus: string | undefined } {
  const n = os.availableParallelism();
  return { proxyCpus: pin && n > 1 ? String(n - 1) : undefined, harnessCpus: undefined };
}

async function main(): Promise<number> {
  // The long fuzz run (issue #14) is its own script, with its own flags (--runs, --quick).
  if (process.argv.includes("--fuzz")) {
    const script = path.join(REPO_ROOT, "bench/fuzz/run.mjs");
    return spawnSync(process.execPath, [script, ...process.argv.slice(2)], { stdio: "inherit" }).status ?? 1;
  }
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      pin: { type: "boolean", default: false },
      "no-priority": { type: "boolean", default: false },
      render: { type: "string" },
      scenario: { type: "string", multiple: true },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.render) return render(values.render);
  const wanted = (values.scenario ?? [])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of wanted) {
    if (!SCENARIOS.some((s) => s.name === w)) {
      console.error(`bench: unknown scenario '${w}' (known: ${SCENARIOS.map((s) => s.name).join(", ")})`);
      return 2;
    }
  }
  const selected = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  const complete = selected.length === SCENARIOS.length && !values.quick;
  installCleanup();

  const installError = ensureProxiesInstalled();
  const { proxyCpus, harnessCpus } = pinCpus(values.pin);
  const priority = values["no-priority"] ? "default (--no-priority)" : raisePriority();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const runDir = path.join(REPO_ROOT, ".run/bench", stamp);
  mkdirSync(runDir, { recursive: true });
  const ctx: Ctx = {
    quick: values.quick,
    runDir,
    proxyCpus,
    harnessCpus,
    caFile: testCerts.caFile,
    caPem: testCerts.caPem,
    // A full run waits at most this long in all for other work on the machine to settle.
    quietBudgetMs: values.quick ? 0 : 90_000,
    retriesLeft: values.quick ? 0 : 6,
  };
  const meta: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    quick: values.quick,
    scenarios: selected.map((s) => s.name),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    ...gitState(),
    haproxyVersion: versionOf(HAPROXY_BIN, ["-v"]),
    nginxVersion: versionOf(NGINX_BIN, ["-v"]),
    priority,
    pinning: proxyCpus
      ? `proxy under test pinned to CPU ${proxyCpus} (taskset); load generator and simulator not pinned`
      : "none: each proxy runs one thread of execution (see fairness); the scheduler places all processes",
    fairness: [
      "Every proxy gets one thread of execution: meshtune is one Node.js process (one event loop; V8's GC helper threads may use another core, reported in proxyCoreUse), HAProxy runs nbthread 1, NGINX worker_processes 1 (its master is idle).",
      "Same timeouts everywhere: connect 500 ms (meshtune pool.connectTimeoutMs, HAProxy timeout connect, NGINX proxy_connect_timeout); upstream response 2 s (requestTimeoutMs, timeout server, proxy_read_timeout); one retry on another endpoint.",
      "Least-request balancing everywhere: meshtune least_request (P2C), HAProxy balance leastconn, NGINX least_conn.",
      "Keep-alive to the upstreams everywhere: meshtune pools, HAProxy http-reuse always, NGINX keepalive 64 with HTTP/1.1.",
      "Health: meshtune and HAProxy check GET /health every 500 ms (fall 2, rise 1); NGINX open source has passive checks only (max_fails=1 fail_timeout=10s).",
      "HAProxy and NGINX are Debian's builds with logging off; each run gets a fresh simulator and a fresh proxy.",
    ],
    runDir,
  };
  if (installError) meta.installError = installError;
  const results: Results = { meta, scenarios: {} };
  let failures = 0;
  progress(`running ${selected.map((s) => s.name).join(", ")}${values.quick ? " (quick)" : ""}; work dir ${runDir}`);
  for (const s of selected) {
    const t0 = performance.now();
    progress(`== ${s.name}: ${s.title}`);
    let r: ScenarioResult;
    try {
      r = await s.run(ctx);
    } catch (err) {
      r = { title: s.title, description: "", params: {}, systems: {}, goals: [], notes: [], error: errorMessage(err) };
      progress(`${s.name} FAILED: ${errorMessage(err)}`);
    }
    r.durationS = Math.round((performance.now() - t0) / 100) / 10;
    failures += (r.error ? 1 : 0) + Object.values(r.systems).filter((x) => x.error).length;
    results.scenarios[s.name] = r;
  }
  meta.finishedAt = new Date().toISOString();
  meta.failures = failures;

  const dir = path.join(REPO_ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = path.join(dir, `${stamp}${values.quick ? "-quick" : ""}.json`);
  writeFileSync(file, json);
  const latest = path.join(dir, complete ? "latest.json" : "latest-partial.json");
  writeFileSync(latest, json);
  console.log(renderText(selected, results));
  if (complete) updateReadme(renderMarkdown(selected, results));
  progress(`results: ${path.relative(REPO_ROOT, file)} and ${path.relative(REPO_ROOT, latest)}`);
  // The markdown report with the one table and the PNG plots (issue #12; bench/src/report/).
  const report = await writeReport({ scenarios: selected, results, dir, stamp, complete }).catch((err: unknown) => {
    progress(`report failed: ${errorMessage(err)}`);
    return [];
  });
  if (report.length > 0) progress(`report: ${report.map((f) => path.relative(REPO_ROOT, f)).join(", ")}`);
  if (failures > 0) progress(`${failures} system run(s) failed; see the JSON (error) and logs under ${runDir}`);
  return failures > 0 ? 1 : 0;
}

/**
 * `--render FILE`: the table, the README figures and the markdown report again from a saved
 * results JSON, so that a change to the report reaches latest.md without measuring anything.
 * The same rule as a run: a full run of every scenario refreshes the README and latest.md,
 * anything else only <stamp>.md and latest-partial.md. The report goes next to FILE, with the
 * standalone benchmarks' results found there.
 */
async function render(file: string): Promise<number> {
  const results = JSON.parse(readFileSync(file, "utf8")) as Results;
  const present = SCENARIOS.filter((s) => results.scenarios[s.name]);
  console.log(renderText(present, results));
  const complete = !results.meta.quick && present.length === SCENARIOS.length;
  if (complete) updateReadme(renderMarkdown(present, results));
  const report = await writeReport({
    scenarios: present,
    results,
    dir: path.dirname(path.resolve(file)),
    stamp: stampOf(file, results),
    complete,
  });
  progress(`report: ${report.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
  return 0;
}

/** The run's stamp: the file's own name for <stamp>(-quick).json, else from meta.startedAt. */
function stampOf(file: string, results: Results): string {
  const base = path.basename(file, ".json").replace(/-quick$/, "");
  if (/^\d{4}-\d\d-\d\dT[\d-]+Z$/.test(base)) return base;
  const started = results.meta.startedAt;
  return (typeof started === "string" ? started : new Date().toISOString()).replace(/[:.]/g, "-");
}

/** Replaces the figures between the markers in bench/README.md after a full run. */
function updateReadme(markdown: string): void {
  const readme = path.join(REPO_ROOT, "bench/README.md");
  if (!existsSync(readme)) return;
  const text = readFileSync(readme, "utf8");
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  writeFileSync(readme, `${text.slice(0, i + begin.length)}\n${markdown}\n${text.slice(j)}`);
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: unknown) => {
    console.error(`bench: ${errorMessage(err)}`);
    await stopAll();
    process.exit(1);
  },
);
