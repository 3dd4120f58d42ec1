#!/usr/bin/env bash
# ./dev demo: the main job on embedded defaults. Starts the local services (the tuner of a
# later issue uses them) and shows their state, then runs the quickstart demo: simulator with
# one endpoint black-holed and one slow, the proxy, steady load, live view. Ctrl-C stops
# everything it started, including the services this run started.
set -euo pipefail
ROOT="${MESHTUNE_ROOT:?run through ./dev demo}"
cd "$ROOT"
mkdir -p .run
started_file="$(mktemp "$ROOT/.run/started.XXXXXX")"
cleanup() {
  bash infra/scripts/services.sh down --started-file "$started_file" || true
  rm -f "$started_file"
}
trap cleanup EXIT
bash infra/scripts/services.sh up --started-file "$started_file" ||
  echo "[demo] local services could not all be started; the proxy demo does not need them" >&2
bash infra/scripts/services.sh status || true
# Not exec: the trap above must run after the demo ends (Ctrl-C reaches node, which drains and exits).
node services/cli/dist/main.js demo "$@" || true
