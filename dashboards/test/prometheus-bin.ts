/**
 * promtool and prometheus from Debian's `prometheus` package — the proxy's findPromtool()
 * (services/proxy/test/telemetry.test.ts) generalised to both binaries of the package: on PATH
 * or /usr/bin, in the proxy's cache (it extracts the whole package), in ours, else the package
 * is fetched with `apt-get download` (no daemon installed or started) and extracted into
 * node_modules/.cache. Throws — the test fails, never skips — when none of that works.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, "..", "..");
const ownCache = join(here, "..", "node_modules", ".cache", "prometheus");
const proxyCache = join(REPO_ROOT, "services", "proxy", "node_modules", ".cache", "promtool");

export type PromBinary = "promtool" | "prometheus";

export function findPromBinary(name: PromBinary): string {
  const env = name === "promtool" ? process.env.PROMTOOL : process.env.PROMETHEUS;
  for (const p of [env, `/usr/bin/${name}`, join(proxyCache, "usr", "bin", name), join(ownCache, "usr", "bin", name)]) {
    if (p && existsSync(p)) return p;
  }
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  // Downloaded and extracted next to the cache (same filesystem, so the final rename is atomic).
  mkdirSync(dirname(ownCache), { recursive: true });
  const dl = mkdtempSync(join(dirname(ownCache), "prometheus-deb-"));
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
    // Extract beside the cache and rename into place: test files run in parallel, and another
    // one may be looking for the binary while this extraction is half done.
    const staging = join(dl, "root");
    mkdirSync(staging);
    execFileSync("dpkg-deb", ["-x", join(dl, deb), staging]);
    try {
      renameSync(staging, ownCache);
    } catch (err) {
      if (!existsSync(join(ownCache, "usr", "bin", name))) throw err;
    }
  } finally {
    rmSync(dl, { recursive: true, force: true });
  }
  const p = join(ownCache, "usr", "bin", name);
  if (!existsSync(p)) throw new Error(`the prometheus package did not contain usr/bin/${name}`);
  return p;
}
