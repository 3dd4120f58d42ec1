/** Shared by the engine benchmark's parts: the built packages (dist) and small statistics. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const imp = (p) => import(join(root, p));
export const engine = await imp("packages/engine/dist/index.js");
export const sim = await imp("packages/engine/dist/sim/index.js");
export const adapters = await imp("packages/adapters/dist/index.js");
export const service = await imp("services/engine/dist/index.js");
export const contracts = await imp("packages/contracts/dist/index.js");

export const pct = (xs, q) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
export const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
export const log = (...a) => console.error("[engine-bench]", ...a);
