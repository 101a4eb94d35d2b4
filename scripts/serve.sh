#!/usr/bin/env bash
# Run Noom at http://localhost:3000 (set up .venv and npm packages first if needed).
# Extra arguments go to `noom serve`, e.g. `scripts/serve.sh --port 8080`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/noom serve "$@"
