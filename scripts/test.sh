#!/usr/bin/env bash
# Run every check: set-up (Debian packages when root, .venv, npm), ruff, then pytest inside a private
# network namespace so no test can reach any address but our own. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --system
echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== node --test (the browser client's DOM-free modules)"; node --test tests/js/
echo "== pytest (in a private network namespace)"
if [[ $(id -u) -eq 0 ]]; then
  exec unshare --net -- scripts/netns.sh .venv/bin/pytest "$@"
else
  exec unshare --net --map-root-user -- scripts/netns.sh .venv/bin/pytest "$@"
fi
