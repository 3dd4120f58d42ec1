/**
 * `meshtune demo` as a user runs it (issue #12): the whole product on embedded defaults with
 * real proxy processes, the tuner and real Redis; options checked; everything it started is
 * stopped when it ends.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const run = (args: string[], timeoutMs: number) =>
  spawnSync(process.execPath, [CLI, "demo", ...args], { encoding: "utf8", timeout: timeoutMs, env: process.env });

describe("meshtune demo", () => {
  it("refuses bad options with a clear message and exit 2", () => {
    for (const [args, msg] of [
      [["--act", "nope"], "--act must be one of blackhole, slow, die, surge, remove"],
      [["--proxies", "0"], "--proxies must be an integer from 1 to 16"],
      [["--duration", "2"], "--duration must be a number of seconds from 10 to 86400"],
    ] as const) {
      const r = run([...args], 10_000);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    const help = run(["--help"], 10_000);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--no-kafka");
  });

  it("plays an act end to end: the tuner ejects the dead endpoint, events go to a JSON Lines file", () => {
    if (!process.env.REDIS_URL) throw new Error("REDIS_URL is not set: the demo needs Redis (run through ./dev test)");
    // 24 s, not 14: under the whole suite on 2 cores the fleet decision once missed a 14 s act
    // (fresh-clone CI of 10cf889; it passed alone and in the two CI runs before).
    const r = run(["--act", "die", "--duration", "24", "--proxies", "2", "--no-tui", "--no-kafka"], 100_000);
    expect(r.stderr).not.toMatch(/Error|TimeoutNegativeWarning/);
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain("--- act 1/1 die: mail ep4 refuses new connections");
    expect(out).toMatch(/decision \S+ mail .*eject\s+mail-ep4/);
    expect(out).toMatch(/^die\s+\d+\/\d+/m);
    const file = /decision stream: (\S+decisions\.jsonl)/.exec(out)?.[1];
    expect(file).toBeDefined();
    const events = readFileSync(file!, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; data: { kind?: string } });
    expect(events.some((e) => e.type === "io.meshtune.decision.v1" && e.data.kind === "eject")).toBe(true);
    expect(out).toContain("stopping the proxies, the tuner and the simulator");
  }, 130_000);
});
