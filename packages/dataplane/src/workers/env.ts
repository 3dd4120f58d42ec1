/**
 * How a `--workers N` child knows it is one: the primary forks every worker with WORKER_ID_ENV
 * set to its id (primary.ts), and only a forked process has an IPC channel. The one owner of
 * that contract, read by the worker side (worker.ts) and by the CLI before it loads the data
 * plane (services/cli: a worker never re-executes itself), hence a subpath of its own that
 * imports nothing.
 */
export const WORKER_ID_ENV = "MESHTUNE_WORKER_ID";

/** The worker id the primary gave this process (raw), or undefined when it is not a forked worker. */
export function forkedWorkerId(
  env: Readonly<Record<string, string | undefined>>,
  hasChannel: boolean,
): string | undefined {
  return hasChannel ? env[WORKER_ID_ENV] : undefined;
}
