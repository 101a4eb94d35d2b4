#!/usr/bin/env bash
# Set up everything Noom needs on a fresh machine, idempotently:
#   - Debian packages (only with --system): chromium, firefox-esr, redis-server, coturn, iproute2, iptables,
#     espeak-ng, sox and xvfb, and fonts for the test suite;
#   - a virtualenv in .venv with the locked dependencies (requirements.lock, dev extra included) and Noom
#     itself installed editable;
#   - the browser client's npm packages in web/node_modules (and the tests' own: axe-core, puppeteer-core), and
#     the files the pages use from them copied into web/static/vendor/ (scripts/vendor_assets.py), which the
#     package and its wheel serve.
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_system=0
[[ "${1:-}" == "--system" ]] && want_system=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

if ((want_system)); then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v firefox-esr >/dev/null || missing+=(firefox-esr)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v turnserver >/dev/null || missing+=(coturn)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
  # Reactions are emoji: without a colour emoji font Chromium draws them as empty boxes (screenshots, tests).
  fc-list 2>/dev/null | grep -qi 'noto color emoji' || missing+=(fonts-noto-color-emoji)
  # The Korean catalog (web/i18n/ko.json): without a CJK font Chromium draws Hangul as empty boxes.
  fc-list 2>/dev/null | grep -qi 'noto sans cjk' || missing+=(fonts-noto-cjk)
  # The noise-suppression test's fake microphone: speech from espeak-ng, resampled by sox.
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v sox >/dev/null || missing+=(sox)
  # The background-effect test's Firefox: headless Firefox has no WebGL without a GPU, under Xvfb it has Mesa's.
  command -v Xvfb >/dev/null || missing+=(xvfb)
  if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
      log "installing Debian packages: ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "Missing Debian packages: ${missing[*]}. Install them with:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $($python --version)"
  $python -m venv .venv
fi
# Exactly the versions in requirements.lock (what CI tested), then Noom itself without resolving again.
# Refresh the lock after changing pyproject's dependencies (pip install uv):
#   uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
stamp=.venv/.noom-installed
if [[ ! -f $stamp ]] || ! cat pyproject.toml requirements.lock | cmp -s - "$stamp"; then
  log "installing Python packages into .venv from requirements.lock"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  cat pyproject.toml requirements.lock >"$stamp"
fi

npm_stamp=web/node_modules/.noom-installed
if [[ ! -f $npm_stamp ]] || ! cmp -s web/package-lock.json "$npm_stamp"; then
  log "installing npm packages into web/node_modules"
  # puppeteer-core (the Firefox tests' driver) never downloads a browser; the variable makes sure nothing
  # in its tree does either: the tests use Debian's /usr/bin/firefox-esr.
  (cd web && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp web/package-lock.json "$npm_stamp"
fi
# Always (it takes milliseconds): a page may have started using another icon since the last run.
.venv/bin/python scripts/vendor_assets.py
