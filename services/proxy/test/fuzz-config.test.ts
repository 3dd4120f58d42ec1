/**
 * Hostile YAML configuration (issue #14), property-based with fast-check: random bytes, the
 * quickstart config with random edits, YAML of random values, and known-nasty documents (alias
 * bombs, deep nesting, custom tags, huge numbers). Loading one either returns a valid config or
 * throws a ConfigError naming where and why — never any other exception, never a hang.
 * MESHTUNE_FUZZ_RUNS sets the case count (default 200); MESHTUNE_FUZZ_OUT collects the counts.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, parseProxyConfig } from "@meshtune/contracts";
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadProxyConfigFile } from "../src/index.js";

const RUNS = Number(process.env.MESHTUNE_FUZZ_RUNS ?? 200);
const dir = mkdtempSync(join(tmpdir(), "meshtune-fuzz-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = readFileSync(
  fileURLToPath(new URL("../../../examples/quickstart/proxy.yaml", import.meta.url)),
  "utf8",
);

const nasty = [
  `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from(
    { length: 12 },
    (_, i) =>
      `l${i + 1}: &l${i + 1} [${Array(9)
        .fill(i === 0 ? "*a" : `*l${i}`)
        .join(",")}]`,
  ).join("\n")}\n`,
  `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
  `${"{a: ".repeat(2_000)}1${"}".repeat(2_000)}`,
  "apiVersion: !!js/function 'function(){}'\n",
  "proxy: !<tag:yaml.org,2002:binary> AAAA\n",
  "apiVersion: meshtune.io/v1alpha1\nkind: ProxyConfig\nproxy: {drainTimeoutMs: 1e400}\n",
  "<<: *undefined_alias\n",
  "\uFEFF\u0000\u0007",
  "---\n---\n---\n",
  "key: 'unterminated\n",
];

/** The example with a few random single-character edits (YAML that is almost right). */
const edited = fc
  .array(fc.tuple(fc.nat(example.length - 1), fc.constantFrom("del", "ins", "rep"), fc.string({ maxLength: 3 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((edits) => {
    let t = example;
    for (const [at, op, s] of edits) {
      const i = at % Math.max(1, t.length);
      t =
        op === "del"
          ? t.slice(0, i) + t.slice(i + 1)
          : op === "ins"
            ? t.slice(0, i) + s + t.slice(i)
            : t.slice(0, i) + s + t.slice(i + 1);
    }
    return t;
  });
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  edited,
  fc.anything({ maxDepth: 4 }).map((v) => {
    try {
      return stringify(v) ?? "";
    } catch {
      return String(v);
    }
  }),
  fc.constantFrom(...nasty),
);

// Async properties that yield every case: a long synchronous run starves vitest's worker RPC
// ("Timeout calling onTaskUpdate" at 10,000 cases).
const tick = () => new Promise((r) => setImmediate(r));

it("a config file is valid or a ConfigError with location and reason — nothing else", async () => {
  const outcomes = { valid: 0, configError: 0 };
  let n = 0;
  await fc.assert(
    fc.asyncProperty(text, async (t) => {
      await tick();
      const file = join(dir, `c${n++ % 4}.yaml`);
      writeFileSync(file, t);
      try {
        loadProxyConfigFile(file);
        outcomes.valid++;
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).message.length).toBeGreaterThan(0);
        outcomes.configError++;
      }
    }),
    { numRuns: RUNS },
  );
  if (process.env.MESHTUNE_FUZZ_OUT)
    appendFileSync(
      process.env.MESHTUNE_FUZZ_OUT,
      `${JSON.stringify({ target: "proxy YAML config", cases: RUNS, ...outcomes, failures: 0 })}\n`,
    );
}, 600_000);

it("parsing any value never throws: ok, or issues with a path", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.anything({ maxDepth: 5, withNullPrototype: true, withMap: true, withTypedArray: true }),
      async (v) => {
        await tick();
        const r = parseProxyConfig(v);
        if (!r.ok) expect(r.issues.length).toBeGreaterThan(0);
      },
    ),
    { numRuns: RUNS },
  );
});
