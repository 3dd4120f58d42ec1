/**
 * promtool and prometheus from Debian's `prometheus` package, for tests that check metrics,
 * rules and configs with the real tools (the proxy's /metrics, the dashboards' rules, a live
 * Prometheus). Found, in this order: $PROMTOOL / $PROMETHEUS, /usr/bin, PATH, the repository's
 * .cache/prometheus; else the package is fetched with `apt-get download` (no daemon installed
 * or started) and extracted into that cache. Throws — the test fails, never skips — when none
 * of that works.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type PrometheusBinary = "promtool" | "prometheus";

export interface FindPrometheusBinaryOptions {
  /** Where the package is extracted; default <repo>/.cache/prometheus, one copy for every package's tests. */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

// src/ and dist/ are both three levels below the repository root.
const DEFAULT_CACHE = fileURLToPath(new URL("../../../.cache/prometheus", import.meta.url));

export function findPrometheusBinary(name: PrometheusBinary, opts: FindPrometheusBinaryOptions = {}): string {
  const env = opts.env ?? process.env;
  const cache = opts.cacheDir ?? DEFAULT_CACHE;
  const cached = join(cache, "usr", "bin", name);
  const fromEnv = name === "promtool" ? env.PROMTOOL : env.PROMETHEUS;
  for (const p of [fromEnv, `/usr/bin/${name}`]) if (p && existsSync(p)) return p;
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  if (existsSync(cached)) return cached;
  extractPackage(name, cache);
  if (!existsSync(cached)) throw new Error(`the prometheus package did not contain usr/bin/${name}`);
  return cached;
}

function extractPackage(name: PrometheusBinary, cache: string): void {
  // Downloaded and extracted next to the cache (same filesystem, so the final rename is atomic).
  mkdirSync(dirname(cache), { recursive: true });
  const dl = mkdtempSync(join(dirname(cache), "prometheus-deb-"));
  try {
    const download = () =>
      spawnSync("apt-get", ["download", "prometheus"], { cwd: dl, encoding: "utf8", timeout: 240_000 });
    let r = download();
    if (r.status !== 0) {
      spawnSync("apt-get", ["update"], { encoding: "utf8", timeout: 240_000 });
      r = download();
    }
    const deb = readdirSync(dl).find((f) => f.endsWith(".deb"));
    if (r.status !== 0 || !deb)
      throw new Error(`${name} not found and 'apt-get download prometheus' failed: ${r.error?.message ?? r.stderr}`);
    // Extract beside the cache and rename into place: test files run in parallel (and in
    // several packages at once), and another one may be looking for the binary while this
    // extraction is half done. Whoever renames second finds the cache already there.
    const staging = join(dl, "root");
    mkdirSync(staging);
    execFileSync("dpkg-deb", ["-x", join(dl, deb), staging]);
    try {
      renameSync(staging, cache);
    } catch (err) {
      if (!existsSync(join(cache, "usr", "bin", name))) throw err;
    }
  } finally {
    rmSync(dl, { recursive: true, force: true });
  }
}
