#!/usr/bin/env bash
# ./dev demo: the main job on embedded defaults. Until the tuner exists it starts the local
# services and shows their state (issue #3); later issues run the demo fleet here.
set -euo pipefail
ROOT="${MESHTUNE_ROOT:?run through ./dev demo}"
cd "$ROOT"
bash infra/scripts/services.sh up
bash infra/scripts/services.sh status
