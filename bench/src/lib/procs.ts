/**
 * Child processes the benchmark starts: each in its own process group (so a proxy's workers
 * stop with it), stdout/stderr to a log file, and all of them stopped on exit, error or
 * Ctrl-C. CPU time is read from /proc/<pid>/stat (utime + stime) of the process and its
 * descendants (nginx and haproxy workers), which is what "CPU per request" is computed from.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { sleep } from "./log.js";

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64/arm64

export interface Managed {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined;
  stop(): Promise<void>;
}

const running = new Set<Managed>();

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** Pin to these CPUs with taskset (the proxy gets its own core, the harness the other). */
  cpus?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnManaged(o: SpawnOptions): Managed {
  const out = openSync(o.logFile, "a");
  const [cmd, args] = o.cpus ? ["taskset", ["-c", o.cpus, o.command, ...o.args]] : [o.command, o.args];
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ["ignore", out, out],
    env: o.env ?? process.env,
    cwd: o.cwd,
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${o.name} (${o.command})`);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (c, sig) => {
      code = c ?? (sig ? -1 : null);
      resolve(code);
    });
    child.once("error", () => resolve(-1));
  });
  const m: Managed = {
    name: o.name,
    pid: child.pid,
    child,
    logFile: o.logFile,
    exited,
    exitCode: () => code,
    stop: async () => {
      await stopGroup(m);
      running.delete(m);
    },
  };
  running.add(m);
  return m;
}

/** SIGTERM the process group, wait up to 3 s, then SIGKILL; bounded either way. */
async function stopGroup(m: Managed): Promise<void> {
  if (m.exitCode() !== undefined) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-m.pid, sig);
    } catch {
      /* already gone */
    }
  };
  kill("SIGTERM");
  const r = await Promise.race([m.exited.then(() => "exited" as const), sleep(3_000).then(() => "timeout" as const)]);
  if (r === "timeout") {
    kill("SIGKILL");
    await Promise.race([m.exited, sleep(1_000)]);
  } else {
    // The leader exited; make sure no worker of its group survived it.
    kill("SIGKILL");
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((m) => m.stop()));
}

/** Synchronous last resort for process.on("exit"): SIGKILL every group still running. */
function killAllSync(): void {
  for (const m of running) {
    try {
      if (m.exitCode() === undefined) process.kill(-m.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  running.clear();
}

let installed = false;
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n[bench] ${sig}: stopping every process the benchmark started\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

// ---- /proc readings ----

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: split after the last ')'.
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** utime + stime of one process (all its threads) in ms. Fields 14 and 15 of /proc/pid/stat. */
export function cpuMsOf(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After the comm: f[0] is field 3 (state), so field 14 is f[11] and field 15 is f[12].
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** The process and every descendant (nginx master + worker, for instance). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(d));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < 1_000) {
    const p = stack.pop()!;
    if (!existsSync(`/proc/${p}`)) continue;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Sum of CPU ms over the process tree rooted at `root`. */
export function treeCpuMs(root: number): number {
  return processTree(root).reduce((sum, p) => sum + cpuMsOf(p), 0);
}

/** Resident set size of the tree in MiB (VmRSS). */
export function treeRssMiB(root: number): number {
  let kb = 0;
  for (const p of processTree(root)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return Math.round((kb / 1024) * 10) / 10;
}

/** Last lines of a child's log, for error reports. */
export function tailLog(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
