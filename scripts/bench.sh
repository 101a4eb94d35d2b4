#!/usr/bin/env bash
# Reproduce every table and plot in docs/benchmarks.md (about 50 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
(cd scripts/bench/node && npm ci --no-audit --no-fund --loglevel=error)
py=.venv/bin/python
$py scripts/bench/bench_signaling.py --clients 20,200,1000 --windows 1,8 --rounds 2 --seconds 4
$py scripts/bench/bench_signaling.py --ablation 200 --windows 1,8 --rounds 2 --seconds 4
$py scripts/bench/bench_media.py --rounds 2 --seconds 8 --max-sessions 8
$py scripts/bench/bench_media.py --profile 2 --rounds 2 --seconds 8
$py scripts/bench/bench_mesh.py
$py scripts/bench/bench_encoder.py
$py scripts/bench/bench_blur.py
$py scripts/soak.py --minutes 10
