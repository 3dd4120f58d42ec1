/**
 * Parsing with precise errors: every problem is reported as `path: reason`, never as a
 * stack trace, so an operator can fix a YAML file from the message alone (issue #3).
 */
import type { z } from "zod";
import { ProxyConfigSchema } from "./config.js";
import { ControlSnapshotSchema } from "./control.js";
import { SimConfigSchema } from "./sim.js";

export interface ConfigIssue {
  /** Dotted path with [index] for arrays, e.g. clusters[0].pool.minWarm; "(root)" for the whole document. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function issuesOf(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n");
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): ParseResult<z.infer<S>> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issuesOf(r.error) };
}

export const parseProxyConfig = (input: unknown) => parseWith(ProxyConfigSchema, input);
export const parseSimConfig = (input: unknown) => parseWith(SimConfigSchema, input);
export const parseControlSnapshot = (input: unknown) => parseWith(ControlSnapshotSchema, input);

/** Thrown by loaders at the edge (CLI); carries the issues so the CLI prints them without a stack. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid config ${source}:\n${formatIssues(issues)}`);
    this.name = "ConfigError";
  }
}
