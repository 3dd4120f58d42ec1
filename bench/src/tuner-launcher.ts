/**
 * The one-process tuner (`startTuner` from @meshtune/cli: collector + engine + actuator) as a
 * child of the benchmark, with engine rule settings the CLI has no flag for (the per-rule
 * ablation of the tuner-fleet scenario). A child, not in the harness's process, so the tuner's
 * work never delays the load generator's send schedule or latency clock.
 *
 * Usage: node bench/dist/tuner-launcher.js OPTIONS_JSON_FILE READY_FILE
 * OPTIONS_JSON_FILE holds TunerOptions; READY_FILE receives `{ collectorUrl, actuatorAdminUrl }`
 * once the tuner listens. SIGTERM/SIGINT: close the tuner and exit 0.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { startTuner, type TunerOptions } from "@meshtune/cli";

const [optionsFile, readyFile] = process.argv.slice(2);
if (!optionsFile || !readyFile) {
  console.error("usage: tuner-launcher OPTIONS_JSON_FILE READY_FILE");
  process.exit(2);
}
const options = JSON.parse(readFileSync(optionsFile, "utf8")) as TunerOptions;
const tuner = await startTuner(options);
writeFileSync(
  readyFile,
  JSON.stringify({ collectorUrl: tuner.collectorUrl, actuatorAdminUrl: tuner.actuatorAdminUrl }),
);
await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
await tuner.close();
process.exit(0);
