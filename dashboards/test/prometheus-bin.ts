/**
 * The repository root, for the dashboards' tests that read generated files and run tools from
 * there. The promtool/prometheus finder that lived here is findPrometheusBinary in
 * @meshtune/testkit, shared with the proxy's telemetry test.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
