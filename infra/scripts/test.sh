#!/usr/bin/env bash
# ./dev test: lint, type-check and every test, against real Redis and Kafka.
# Starts the services the tests need (unless REDIS_URL / KAFKA_BROKERS point elsewhere)
# and stops exactly what it started, even on failure or Ctrl-C.
set -euo pipefail
ROOT="${MESHTUNE_ROOT:?run through ./dev test}"
cd "$ROOT"
mkdir -p .run
log() { printf '\033[1;34m[test]\033[0m %s\n' "$*" >&2; }

started_file="$(mktemp "$ROOT/.run/started.XXXXXX")"
cleanup() {
  local rc=$?
  bash infra/scripts/services.sh down --started-file "$started_file" || true
  rm -f "$started_file"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting services (Redis, Kafka)"
if ! bash infra/scripts/services.sh up --require-kafka --started-file "$started_file" --env-file "$ROOT/.run/test-services.env"; then
  log "FAILED: the tests need Redis and Kafka; see the messages above for the missing piece"
  exit 1
fi
# shellcheck disable=SC1091
source "$ROOT/.run/test-services.env"
export REDIS_URL KAFKA_BROKERS

log "dependency audit (pnpm audit: no high or critical advisories)"
bash infra/scripts/audit.sh
log "lint (biome)"
pnpm exec biome check .
log "type-check"
pnpm exec turbo run typecheck --output-logs=errors-only --log-prefix=none
log "tests (vitest)"
report="$ROOT/.run/vitest-report.json"
rm -f "$report"
set +e
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
rc=$?
set -e
if [[ -f "$report" ]]; then
  node -e '
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$report"
fi
exit "$rc"
