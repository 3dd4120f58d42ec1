/** Reads a YAML config file and validates it; errors carry path and reason, never a stack. */
import { readFileSync } from "node:fs";
import { ConfigError, type ProxyConfig, parseProxyConfig } from "@meshtune/contracts";
import { parse as parseYaml, YAMLParseError } from "yaml";

export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [{ path: "(file)", message: (err as Error).message }]);
  }
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new ConfigError(path, [
        {
          path: pos ? `line ${pos.line}, column ${pos.col}` : "(yaml)",
          message: err.message.split("\n")[0] ?? err.message,
        },
      ]);
    }
    // Anything else the parser throws is still a bad file, e.g. the ReferenceError of an alias
    // bomb ("Excessive alias count", found by test/fuzz-config, issue #14): a ConfigError, never
    // a stack trace at start.
    throw new ConfigError(path, [{ path: "(yaml)", message: (err as Error).message }]);
  }
}

export function loadProxyConfigFile(path: string): ProxyConfig {
  const r = parseProxyConfig(readYamlFile(path));
  if (!r.ok) throw new ConfigError(path, r.issues);
  return r.value;
}
