/**
 * The proxy's V8 young-generation cap, applied by re-executing the same process image with
 * `--max-semi-space-size` (process.execve: same pid, same stdio, same environment).
 *
 * Why: V8 grows the young generation with the allocation rate, and a proxy allocates per
 * request, so at 2,000 rps Node 24's default let new space reach 64 MiB of a 176 MiB RSS
 * (issue #15, RSS goal ≤ 96 MiB; measured with v8.getHeapSpaceStatistics in the proxy).
 * A semi-space of a few MiB keeps RSS near the live set: scavenges run more often but each
 * copies only the survivors, which for a proxy are the few in-flight requests. The flag has
 * to be on the command line: V8 sizes the heap when the isolate starts, and
 * v8.setFlagsFromString afterwards has no effect (tried: new space stayed at 32 MiB).
 * Decision 0028 has the measurements.
 *
 * The re-executed process also gets MALLOC_ARENA_MAX=2 unless the environment sets it: glibc
 * gives each thread that mallocs (V8's compiler and GC helpers, libuv's pool) an arena of its
 * own, and memory freed there after start-up compilation stays resident; two arenas measured
 * 3-5 MiB less RSS on an idle proxy after 2,400 requests (100/102 vs 105/105 MiB, two pairs).
 * And MALLOC_TRIM_THRESHOLD_=131072 unless set (here or in GLIBC_TUNABLES): glibc raises its
 * mmap threshold, and the trim threshold to twice that, each time a larger mmapped chunk is
 * freed (up to 32 / 64 MiB), and V8's compiler frees large zones, so after start-up free
 * memory at the top of the heap stayed resident. A fixed trim threshold turns that dynamic
 * adjustment off (mallopt(3)): free memory at the top goes back to the kernel past 128 KiB,
 * and the mmap threshold stays at 128 KiB, so larger blocks are mmapped and unmapped each time
 * (node's socket read buffers, 64 KiB, stay below it). Measured at 2,000 rps, three runs each:
 * median RSS over the run 103.1-103.5 → 96.5-97.5 MiB, CPU per 1,000 requests within the
 * run-to-run spread (decision 0028).
 *
 * Pure: `heapReexecArgs` and `heapReexecEnv` decide from argv, execArgv and env; the CLI does
 * the execve.
 */

/** Default cap in MiB (V8's flag takes MiB). 0 keeps Node's own sizing. */
export const DEFAULT_MAX_SEMI_SPACE_MIB = 4;
export const MAX_SEMI_SPACE_ENV = "MESHTUNE_MAX_SEMI_SPACE_MIB";
const CLI_FLAG = "--max-semi-space-mib";
const V8_FLAG = "--max-semi-space-size";

export type SemiSpaceSetting = { ok: true; mib: number } | { ok: false; error: string };

/** The cap asked for: `--max-semi-space-mib N` (or `=N`), else the env variable, else the default. */
export function semiSpaceSetting(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SemiSpaceSetting {
  let raw: string | undefined = env[MAX_SEMI_SPACE_ENV];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === CLI_FLAG) raw = argv[i + 1] ?? "";
    else if (a.startsWith(`${CLI_FLAG}=`)) raw = a.slice(CLI_FLAG.length + 1);
  }
  if (raw === undefined) return { ok: true, mib: DEFAULT_MAX_SEMI_SPACE_MIB };
  const mib = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(mib) || mib < 0 || mib > 1024)
    return {
      ok: false,
      error: `${CLI_FLAG} must be an integer from 0 to 1024 (MiB; 0 = Node's default), got '${raw}'`,
    };
  return { ok: true, mib };
}

/**
 * The V8 flags the process lacks for the cap: none when the cap is 0 or a
 * --max-semi-space-size is already among Node's own options (set by the user, NODE_OPTIONS,
 * or the re-execution itself, which is what stops a loop; cluster workers inherit the
 * primary's execArgv and so never re-execute).
 */
export function missingHeapFlags(opts: {
  execArgv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  mib: number;
}): string[] {
  if (opts.mib === 0) return [];
  const has = (s: string | undefined) => s?.includes(V8_FLAG) === true;
  if (opts.execArgv.some((a) => has(a)) || has(opts.env.NODE_OPTIONS)) return [];
  return [`${V8_FLAG}=${opts.mib}`];
}

/**
 * The argument vector to re-execute with (argv[0] = the node binary), or undefined when the
 * process already runs as asked (missingHeapFlags is empty) or is a `--workers` child: a
 * worker inherits the primary's options, and lacks the flag only when the primary could not
 * re-execute; re-executing it would cut its IPC channel to the primary (node removes
 * NODE_CHANNEL_FD from the environment when it opens the channel).
 */
export function heapReexecArgs(opts: {
  execPath: string;
  execArgv: readonly string[];
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  mib: number;
  /** This process is a worker forked by the multi-worker primary. */
  worker: boolean;
}): string[] | undefined {
  if (opts.worker) return undefined;
  const flags = missingHeapFlags(opts);
  if (flags.length === 0) return undefined;
  return [opts.execPath, ...flags, ...opts.execArgv, ...opts.argv.slice(1)];
}

/** glibc's trim threshold the proxy runs with (bytes; glibc's own initial value, then kept fixed). */
export const MALLOC_TRIM_THRESHOLD = 131_072;

/**
 * The environment to re-execute with: the caller's, plus MALLOC_ARENA_MAX=2 and
 * MALLOC_TRIM_THRESHOLD_ unless the caller sets them (the trim threshold also through
 * GLIBC_TUNABLES, which takes precedence over the variable).
 */
export function heapReexecEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out.MALLOC_ARENA_MAX ??= "2";
  if (!out.GLIBC_TUNABLES?.includes("malloc.trim_threshold"))
    out.MALLOC_TRIM_THRESHOLD_ ??= String(MALLOC_TRIM_THRESHOLD);
  return out;
}

export const HEAP_HELP = `      ${CLI_FLAG} N
                        Cap V8's young generation at N MiB per semi-space (default ${DEFAULT_MAX_SEMI_SPACE_MIB}; 0 = Node's
                        own sizing, which grows to 64 MiB of new space under load; env ${MAX_SEMI_SPACE_ENV}).
                        Applied by re-executing the process with --max-semi-space-size (same pid) and,
                        unless the environment sets them, MALLOC_ARENA_MAX=2 and
                        MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD}; none of this happens with N = 0 or when
                        --max-semi-space-size is already among Node's options`;
