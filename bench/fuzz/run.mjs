#!/usr/bin/env node
/**
 * The long fuzz run of issue #14: the same fast-check properties the tests run briefly (200
 * cases each), here with at least 10,000 cases per target, against real Redis:
 *   - collector OTLP/HTTP endpoints        services/collector/test/fuzz.test.ts
 *   - actuator admin API                   services/actuator/test/fuzz.test.ts
 *   - proxy YAML config                    services/proxy/test/fuzz-config.test.ts
 *   - control snapshots over Redis and the proxy admin API
 *                                          services/proxy/test/fuzz-control.test.ts
 * Each test file appends one JSON line per target (cases, outcome counts, failures) to a
 * temporary file (MESHTUNE_FUZZ_OUT); this script runs them one after another and writes
 * bench/results/fuzz-<timestamp>.json and, for a passing run of 10,000 cases or more, the
 * committed bench/fuzz/latest.json:
 *   { runs, startedAt, durationMs, ok, targets: [{ target, cases, ..., failures }], files: [...] }
 *
 *   node bench/fuzz/run.mjs [--runs N] [--quick]      (./dev bench --fuzz passes its flags on)
 *
 * Needs REDIS_URL (./dev services up writes it to .run/services.env, read here when unset).
 * Exit code 1 when a property fails: vitest prints the shrunk counterexample.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FILES = [
  { project: "collector", file: "services/collector/test/fuzz.test.ts" },
  { project: "actuator", file: "services/actuator/test/fuzz.test.ts" },
  { project: "proxy", file: "services/proxy/test/fuzz-config.test.ts" },
  { project: "proxy", file: "services/proxy/test/fuzz-control.test.ts" },
];

const { values } = parseArgs({
  options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    fuzz: { type: "boolean", default: false }, // tolerated: ./dev bench --fuzz forwards it
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  console.log("Usage: node bench/fuzz/run.mjs [--runs N (default 10000)] [--quick (1000)]");
  process.exit(0);
}
const runs = Number(values.runs ?? (values.quick ? 1_000 : 10_000));
if (!Number.isInteger(runs) || runs < 1) {
  console.error("--runs must be a positive integer");
  process.exit(2);
}

/** REDIS_URL/KAFKA_BROKERS from .run/services.env when the environment has none. */
function servicesEnv() {
  const env = { ...process.env };
  const file = join(ROOT, ".run/services.env");
  if (!env.REDIS_URL && existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = /^(?:export\s+)?([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m && env[m[1]] === undefined) env[m[1]] = m[2].replace(/^["']|["']$/g, "");
    }
  }
  return env;
}

const env = servicesEnv();
if (!env.REDIS_URL) {
  console.error("REDIS_URL is not set: run `./dev services up` first (or export REDIS_URL)");
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "meshtune-fuzz-"));
const out = join(dir, "counts.jsonl");
const started = Date.now();
const files = [];
let ok = true;
for (const f of FILES) {
  const t0 = Date.now();
  console.error(`[fuzz] ${f.file}: ${runs} cases per property`);
  const r = spawnSync("pnpm", ["exec", "vitest", "run", "--project", f.project, f.file], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    // --no-warnings: the YAML fuzzer makes the yaml package emit thousands of tag warnings.
    env: {
      ...env,
      MESHTUNE_FUZZ_RUNS: String(runs),
      MESHTUNE_FUZZ_OUT: out,
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ""} --no-warnings`,
    },
    timeout: 3_600_000,
  });
  if (r.error)
    console.error(`[fuzz] could not run pnpm: ${r.error.message} (is pnpm on PATH? ./dev bench --fuzz sets it up)`);
  const passed = r.status === 0;
  ok &&= passed;
  files.push({ file: f.file, passed, durationMs: Date.now() - t0 });
}
const targets = existsSync(out)
  ? readFileSync(out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(dir, { recursive: true, force: true });
const result = {
  runs,
  startedAt: new Date(started).toISOString(),
  durationMs: Date.now() - started,
  ok,
  targets,
  files,
};
const results = join(ROOT, "bench/results");
mkdirSync(results, { recursive: true });
const stamp = new Date(started).toISOString().replaceAll(":", "-").replace(".", "-");
writeFileSync(join(results, `fuzz-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
if (ok && runs >= 10_000) writeFileSync(join(ROOT, "bench/fuzz/latest.json"), `${JSON.stringify(result, null, 2)}\n`);
for (const t of targets) {
  const { target, cases, failures, ...counts } = t;
  console.log(
    `${target.padEnd(32)} ${String(cases).padStart(6)} cases  failures ${failures}  ${JSON.stringify(counts)}`,
  );
}
console.log(`${ok ? "all properties held" : "A PROPERTY FAILED (see above)"}; bench/results/fuzz-${stamp}.json`);
process.exit(ok ? 0 : 1);
