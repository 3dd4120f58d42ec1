/**
 * Writes the generated dashboards and Prometheus files (render.ts) under the repository root.
 *   node dashboards/dist/generate.js           write them
 *   node dashboards/dist/generate.js --check   exit 1 and list the stale files instead
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderAll } from "./render.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const check = process.argv.includes("--check");
const stale: string[] = [];
for (const [path, content] of renderAll()) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
if (check && stale.length) {
  console.error(`stale generated files (run pnpm --filter @meshtune/dashboards generate):\n  ${stale.join("\n  ")}`);
  process.exitCode = 1;
} else console.log(stale.length ? `wrote ${stale.join(", ")}` : "generated files up to date");
