/**
 * Child processes of the live test — the `meshtune` CLI from the built tree and Prometheus —
 * with their output kept for the failure message, and a stop that always ends them (SIGTERM,
 * then SIGKILL after a bounded wait).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { REPO_ROOT } from "../prometheus-bin.js";

/** The built CLI (`./dev test` builds it first); MESHTUNE_CLI points elsewhere (a development build). */
export const CLI = process.env.MESHTUNE_CLI ?? join(REPO_ROOT, "services", "cli", "dist", "main.js");

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Last 8 KiB of stdout+stderr. */
  output(): string;
  stop(): Promise<void>;
}

export function start(name: string, command: string, args: string[]): Proc {
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function meshtune(name: string, args: string[]): Proc {
  return start(name, process.execPath, [CLI, ...args]);
}

/** A free loopback port (bound and released; the process that gets it binds it right after). */
/** Polls `check` every `everyMs` until it returns a value or `timeoutMs` passes (bounded loop). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
