/**
 * The deployment files run `meshtune <command>` with flags and environment variables the built
 * CLI documents: every `--flag` of a container's args and every variable it sets (other than the
 * downward-API ones and those only substituted into args as `$(NAME)`) appears in
 * `meshtune <command> --help`. Keeps infra/k8s and infra/compose in step with the services' flags.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { composeFile } from "../src/deploy/compose.js";
import { ACTUATOR, COLLECTOR, ENGINE, PROXY } from "../src/deploy/k8s.js";
import { POD_ENV } from "../src/deploy/k8s-parts.js";
import { CLI } from "./live/processes.js";

interface Use {
  where: string;
  args: string[];
  env: string[];
}

function uses(): Use[] {
  const k8s = [COLLECTOR, ENGINE, ACTUATOR, PROXY].map((c) => {
    const substituted = new Set(c.args.flatMap((a) => [...a.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]!)));
    const downward = new Set(POD_ENV.map((e) => e.name));
    return {
      where: `infra/k8s container ${c.name}`,
      args: c.args,
      env: (c.env ?? []).map((e) => e.name).filter((n) => !substituted.has(n) && !downward.has(n)),
    };
  });
  const compose = Object.entries(composeFile().services ?? {})
    .filter(([, s]) => String(s.image ?? "").startsWith("meshtune/"))
    .map(([name, s]) => ({ where: `infra/compose service ${name}`, args: s.command as string[], env: [] }));
  return [...k8s, ...compose];
}

const helpCache = new Map<string, string>();
function help(command: string): string {
  let text = helpCache.get(command);
  if (text === undefined) {
    const r = spawnSync(process.execPath, [CLI, command, "--help"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status, `meshtune ${command} --help: ${r.stderr}`).toBe(0);
    text = r.stdout;
    helpCache.set(command, text);
  }
  return text;
}

describe("deployment files use the CLI's documented flags", () => {
  it.each(uses().map((u) => [u.where, u] as const))("%s", (_, u) => {
    const [command, ...rest] = u.args;
    const text = help(command!);
    for (const flag of rest.filter((a) => a.startsWith("--"))) {
      expect(text, `meshtune ${command} --help does not document ${flag}`).toMatch(
        new RegExp(`(^|[\\s,])${flag}([\\s=]|$)`, "m"),
      );
    }
    for (const name of u.env) expect(text, `meshtune ${command} --help does not name ${name}`).toContain(name);
  });
});
