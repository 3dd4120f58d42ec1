/** The young-generation cap's decision (heap-flags.ts): which value, and when to re-execute. */
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_SEMI_SPACE_MIB, heapReexecArgs, heapReexecEnv, semiSpaceSetting } from "../src/heap-flags.js";

describe("semiSpaceSetting", () => {
  it("takes the flag over the environment over the default", () => {
    expect(semiSpaceSetting([], {})).toEqual({ ok: true, mib: DEFAULT_MAX_SEMI_SPACE_MIB });
    expect(semiSpaceSetting([], { MESHTUNE_MAX_SEMI_SPACE_MIB: "8" })).toEqual({ ok: true, mib: 8 });
    expect(semiSpaceSetting(["--max-semi-space-mib", "2"], { MESHTUNE_MAX_SEMI_SPACE_MIB: "8" })).toEqual({
      ok: true,
      mib: 2,
    });
    expect(semiSpaceSetting(["--config", "x", "--max-semi-space-mib=0"], {})).toEqual({ ok: true, mib: 0 });
  });

  it("refuses what is not a whole number of MiB in range, naming the value", () => {
    for (const bad of ["", "lots", "-1", "2.5", "4096"]) {
      const r = semiSpaceSetting(["--max-semi-space-mib", bad], {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(`'${bad}'`);
    }
    expect(semiSpaceSetting(["--max-semi-space-mib"], {}).ok).toBe(false);
  });
});

describe("heapReexecArgs", () => {
  const base = {
    execPath: "/node",
    execArgv: [],
    argv: ["/node", "/cli.js", "proxy", "--config", "f"],
    env: {},
    worker: false,
  };

  it("puts the V8 flag before the script and keeps every argument", () => {
    expect(heapReexecArgs({ ...base, execArgv: ["--enable-source-maps"], mib: 4 })).toEqual([
      "/node",
      "--max-semi-space-size=4",
      "--enable-source-maps",
      "/cli.js",
      "proxy",
      "--config",
      "f",
    ]);
  });

  it("does not re-execute when the flag is already set (no loop), nor for 0", () => {
    expect(heapReexecArgs({ ...base, execArgv: ["--max-semi-space-size=4"], mib: 4 })).toBeUndefined();
    expect(heapReexecArgs({ ...base, env: { NODE_OPTIONS: "--max-semi-space-size=16" }, mib: 4 })).toBeUndefined();
    expect(heapReexecArgs({ ...base, mib: 0 })).toBeUndefined();
  });

  it("never re-executes a --workers child (it would lose its channel to the primary)", () => {
    expect(heapReexecArgs({ ...base, mib: 4, worker: true })).toBeUndefined();
  });
});

describe("heapReexecEnv", () => {
  it("keeps the environment and adds glibc's arena cap and trim threshold only where the caller set none", () => {
    expect(heapReexecEnv({ PATH: "/bin", GONE: undefined })).toEqual({
      PATH: "/bin",
      MALLOC_ARENA_MAX: "2",
      MALLOC_TRIM_THRESHOLD_: "131072",
    });
    expect(heapReexecEnv({ MALLOC_ARENA_MAX: "8", MALLOC_TRIM_THRESHOLD_: "0" })).toEqual({
      MALLOC_ARENA_MAX: "8",
      MALLOC_TRIM_THRESHOLD_: "0",
    });
    // GLIBC_TUNABLES takes precedence over the variable: a trim threshold there is the operator's choice.
    const tunables = "glibc.malloc.trim_threshold=65536";
    expect(heapReexecEnv({ GLIBC_TUNABLES: tunables })).toEqual({ GLIBC_TUNABLES: tunables, MALLOC_ARENA_MAX: "2" });
  });
});
