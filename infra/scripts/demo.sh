#!/usr/bin/env bash
# ./dev demo: the main job on embedded defaults (issue #12). Finds or starts Redis and Kafka,
# then runs `meshtune demo`: the upstream simulator, two proxy fleets (one steered by the tuner,
# one alone), the tuner in one process, steady load and a five-act story with a live view.
# Ctrl-C stops everything it started, including the services this run started.
set -euo pipefail
ROOT="${MESHTUNE_ROOT:?run through ./dev demo}"
cd "$ROOT"
mkdir -p .run
started_file="$(mktemp "$ROOT/.run/started.XXXXXX")"
env_file="$ROOT/.run/demo-services.env"
cleanup() {
  bash infra/scripts/services.sh down --started-file "$started_file" || true
  rm -f "$started_file"
}
trap cleanup EXIT
# Without --require-kafka a missing Java only warns: the demo then writes decision events to a
# JSON Lines file and still runs the whole loop (the tuner needs Redis, not Kafka).
if ! bash infra/scripts/services.sh up --started-file "$started_file" --env-file "$env_file"; then
  echo "[demo] Redis could not be found or started; the tuner needs it (see the messages above)" >&2
  exit 1
fi
# shellcheck disable=SC1090
source "$env_file"
export REDIS_URL
if [[ -n "${KAFKA_BROKERS:-}" ]]; then export KAFKA_BROKERS; else unset KAFKA_BROKERS; fi
# Not exec: the trap above must run after the demo ends (Ctrl-C reaches node, which stops its
# children and exits).
node services/cli/dist/main.js demo "$@"
