#!/usr/bin/env node
/**
 * meshtune CLI: one binary, subcommands. Thin: each command lives in its own package/service.
 * Commands are loaded on demand: importing every service up front (BullMQ, kafkajs, the OTel
 * SDK, ...) made `meshtune proxy` take 2.3 s to start on a loaded 2-core machine, enough for a
 * fleet of eight sidecars to miss the demo's ready deadline.
 */
import { ConfigError, parseSimConfig } from "@meshtune/contracts";

const HELP = `meshtune — observability-driven adaptive tuner for service-mesh egress to external services

Usage: meshtune <command> [options]

Commands:
  demo                     Run the product end to end: simulator, two proxy fleets (tuned / alone),
                           the tuner, a scripted story with a live view. See: meshtune demo --help
  proxy --config FILE      Run the sidecar proxy (egress listener + admin API). See: meshtune proxy --help
  tuner                    Run collector + engine + actuator in one process (single machine)
  collector                Run the OTLP/HTTP collector alone (scale-out). See: meshtune collector --help
  engine                   Run an engine worker alone (scale-out). See: meshtune engine --help
  actuator                 Run the actuator alone (scale-out). See: meshtune actuator --help
  status                   Per cluster: config version, convergence, ejected endpoints, last decisions
  explain DECISION-ID      Why the tuner made a decision: inputs, rule, guardrails, counterfactual
  sim --config FILE        Run the fault-injecting upstream simulator. See: meshtune sim --help
  validate FILE...         Validate proxy (kind: ProxyConfig) or simulator (kind: SimConfig) YAML files
  help                     Show this help

Options:
  -h, --help               Show help
  -v, --version            Show version

Examples:
  meshtune sim --config examples/quickstart/sim.yaml
  meshtune proxy --config examples/quickstart/proxy.yaml
  curl -H 'host: api.example.com' http://127.0.0.1:15001/anything
  curl http://127.0.0.1:15000/clusters`;

async function validate(files: string[]): Promise<number> {
  if (files.length === 0) {
    console.error("meshtune validate: give one or more YAML files");
    return 2;
  }
  const { loadProxyConfigFile, readYamlFile } = await import("@meshtune/proxy/config-file");
  let failed = 0;
  for (const f of files) {
    try {
      const raw = readYamlFile(f) as { kind?: unknown } | undefined;
      if (raw?.kind === "SimConfig") {
        const r = parseSimConfig(raw);
        if (!r.ok) throw new ConfigError(f, r.issues);
      } else loadProxyConfigFile(f);
      console.log(`${f}: ok`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(err.message);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

/**
 * `meshtune proxy` re-executes itself with V8's young-generation cap (heap-flags.ts, issue #15
 * RSS goal) before it loads anything heavy. Returns an exit code when the flag is invalid;
 * returns nothing when the process already runs as asked (or cannot re-execute); on success
 * process.execve does not return.
 */
async function heapReexec(args: string[]): Promise<number | undefined> {
  const { heapReexecArgs, heapReexecEnv, semiSpaceSetting } = await import("@meshtune/proxy/heap-flags");
  const { forkedWorkerId } = await import("@meshtune/dataplane/worker-env");
  if (args.includes("-h") || args.includes("--help")) return undefined;
  const setting = semiSpaceSetting(args, process.env);
  if (!setting.ok) {
    console.error(`meshtune proxy: ${setting.error}`);
    return 2;
  }
  const next = heapReexecArgs({
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    env: process.env,
    mib: setting.mib,
    worker: forkedWorkerId(process.env, process.send !== undefined) !== undefined,
  });
  // process.execve is Node ≥ 23.11 on POSIX; elsewhere the proxy runs with Node's sizing.
  if (next === undefined || typeof process.execve !== "function") return undefined;
  try {
    process.execve(process.execPath, next, heapReexecEnv(process.env));
  } catch (err) {
    // A sandbox may forbid execve: serving with Node's heap sizing beats not serving.
    console.error(
      `meshtune proxy: could not re-execute with ${next[1]} (${(err as Error).message}); using Node's heap sizing`,
    );
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "-h":
    case "--help":
      console.log(HELP);
      return 0;
    case "-v":
    case "--version":
      console.log("meshtune 0.1.0");
      return 0;
    case "proxy": {
      const reexec = await heapReexec(rest);
      if (reexec !== undefined) return reexec;
      // The subpath, not the package index: the index also exports the control client, whose
      // Redis/Kafka adapters a proxy without --redis-url does not need in memory (issue #15).
      return (await import("@meshtune/proxy/run")).runProxy(rest);
    }
    case "sim":
      return (await import("@meshtune/testkit")).runSimCli(rest);
    case "validate":
      return validate(rest);
    case "demo":
      return (await import("./demo/run.js")).runDemo(rest);
    case "tuner":
      return (await import("./tuner.js")).runTuner(rest);
    case "collector":
      return (await import("@meshtune/collector")).runCollector(rest);
    case "engine":
      return (await import("@meshtune/engine-service")).runEngine(rest);
    case "actuator":
      return (await import("@meshtune/actuator")).runActuator(rest);
    case "status":
      return (await import("./status.js")).runStatus(rest);
    case "explain":
      return (await import("@meshtune/engine-service")).runExplain(rest);
    default:
      console.error(`meshtune: unknown command '${cmd}'\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Commands that serve until a signal resolve only when done; exit explicitly so stray
    // handles (watchers, keep-alive sockets) cannot keep a finished command alive.
    if (
      code !== 0 ||
      !["proxy", "sim", "demo", "tuner", "collector", "engine", "actuator"].includes(process.argv[2] ?? "")
    )
      return;
    process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof TypeError && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))
      console.error(`meshtune: ${err.message} (see --help)`);
    else console.error(`meshtune: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
