/**
 * Outcomes of I/O as values, not exceptions (opentelemetry-js exporters, DESIGN.md section 6):
 * the caller decides what to do, and `retryable` says whether trying again can help.
 */
export type Failure = { ok: false; retryable: boolean; error: string };
export type Result<T> = { ok: true; value: T } | Failure;
/** A Result without a value, e.g. for publish. */
export type Done = { ok: true } | Failure;

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
