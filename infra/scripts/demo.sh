#!/usr/bin/env bash
# ./dev demo: the main job on embedded defaults. Starts the local services (the tuner of a
# later issue uses them) and shows their state, then runs the quickstart demo: simulator with
# one endpoint black-holed and one slow, the proxy, steady load, live view. Ctrl-C stops all.
set -euo pipefail
ROOT="${MESHTUNE_ROOT:?run through ./dev demo}"
cd "$ROOT"
bash infra/scripts/services.sh up || echo "[demo] local services could not all be started; the proxy demo does not need them" >&2
bash infra/scripts/services.sh status || true
exec node services/cli/dist/main.js demo "$@"
