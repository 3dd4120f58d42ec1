/**
 * `meshtune sim --config FILE`: runs the simulator in the foreground until SIGINT/SIGTERM.
 * The CLI service wires this in; it returns the exit code instead of calling process.exit so
 * it can be tested (and so all handles are closed before the caller exits).
 */

import { parseArgs } from "node:util";
import { ConfigError } from "@meshtune/contracts";
import { loadSimConfigFile } from "./config-file.js";
import { type Simulator, startSimulator } from "./simulator.js";

export interface SimCliIo {
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  /** Stops the simulator like a signal would (tests); SIGINT/SIGTERM always do. */
  signal?: AbortSignal;
  /** Called once the simulator listens (tests). */
  onStarted?: (sim: Simulator) => void;
}

export const SIM_CLI_USAGE = `Usage: meshtune sim --config FILE

Runs the fault-injecting upstream simulator until SIGINT/SIGTERM.

Options:
  -c, --config FILE   simulator config (YAML, kind: SimConfig)
  -h, --help          show this help
`;

/** Formats rows as left-aligned columns separated by two spaces. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

/**
 * `argv` is the arguments after `sim` (a leading "sim" is tolerated). Resolves with the exit
 * code: 0 after a clean stop, 2 on usage or config errors, 1 when the simulator cannot start.
 */
export async function runSimCli(argv: readonly string[], io: SimCliIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const args = argv[0] === "sim" ? argv.slice(1) : argv;
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err.write(`meshtune sim: ${(e as Error).message}\n\n${SIM_CLI_USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(SIM_CLI_USAGE);
    return 0;
  }
  if (values.config === undefined) {
    err.write(`meshtune sim: --config FILE is required\n\n${SIM_CLI_USAGE}`);
    return 2;
  }

  let sim: Simulator;
  try {
    sim = await startSimulator(await loadSimConfigFile(values.config));
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`meshtune sim: ${e.message}\n`);
      return 2;
    }
    err.write(`meshtune sim: cannot start: ${(e as Error).message}\n`);
    return 1;
  }

  const rows = [["NAME", "PROTOCOL", "URL", "ZONE"]];
  for (const e of sim.endpoints) rows.push([e.name, e.protocol, e.url, e.zone ?? "-"]);
  out.write(`meshtune sim: ${sim.endpoints.length} endpoint(s)\n${formatTable(rows)}\n`);
  out.write(
    `control: ${sim.controlUrl}  (GET /endpoints, PATCH /endpoints/:name/faults, POST /endpoints/:name/reset-stats)\n`,
  );
  io.onStarted?.(sim);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener("abort", stop);
  });
  await sim.close();
  out.write("meshtune sim: stopped\n");
  return 0;
}
