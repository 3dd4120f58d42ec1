import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError, parseSimConfig, type SimConfig } from "@meshtune/contracts";
import { parse as parseYaml, YAMLParseError } from "yaml";

/**
 * Reads and validates a simulator YAML file. Throws ConfigError (path + reason per issue) on
 * unreadable, malformed or invalid input. Relative tls.certFile / tls.keyFile resolve against
 * the file's directory, so a config works from any working directory.
 */
export async function loadSimConfigFile(path: string): Promise<SimConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [{ path: "(root)", message: `cannot read file: ${(err as Error).message}` }]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message : String(err);
    throw new ConfigError(path, [{ path: "(root)", message: `invalid YAML: ${message}` }]);
  }
  const parsed = parseSimConfig(doc);
  if (!parsed.ok) throw new ConfigError(path, parsed.issues);
  const cfg = parsed.value;
  const base = dirname(resolve(path));
  if (cfg.tls.certFile !== undefined) cfg.tls.certFile = resolve(base, cfg.tls.certFile);
  if (cfg.tls.keyFile !== undefined) cfg.tls.keyFile = resolve(base, cfg.tls.keyFile);
  return cfg;
}
