#!/usr/bin/env bash
# A throughput/latency sweep of a local 4-validator network with the release build, and its plot:
#
#   ./scripts/bench-sweep.sh                       # transfer workload, default rates
#   RATES=200,400,800 WORKLOAD=token ./scripts/bench-sweep.sh
#
# Writes bench-sweep.json and bench-sweep.png into $OUT (default ./bench-out, ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

RATES="${RATES:-200,400,600,800,1000,1200,1400}"
WORKLOAD="${WORKLOAD:-transfer}"
OUT="${OUT:-$PWD/bench-out}"
mkdir -p "$OUT"
cargo build --release -p accord-node --bin accord --locked
"$CARGO_TARGET_DIR/release/accord" bench --local "${VALIDATORS:-4}" --workload "$WORKLOAD" --sweep "$RATES" \
    --duration "${DURATION:-20}" --warmup "${WARMUP:-5}" --json "$OUT/bench-sweep.json"
"$ACCORD_VENV/bin/python" -c 'import matplotlib' 2>/dev/null \
    || "$ACCORD_VENV/bin/pip" install -q --disable-pip-version-check matplotlib >/dev/null
"$ACCORD_VENV/bin/python" scripts/plot_bench.py "$OUT/bench-sweep.json" "$OUT/bench-sweep.png"
