#!/usr/bin/env bash
# The main job: builds accord (release), writes a local network into ./testnet (once) and runs it in the
# foreground, printing its endpoints. Ctrl-C stops it cleanly; run again to resume the same chain.
#
#   ./scripts/start.sh            # single validator (multi-validator PBFT is not implemented yet)
#   ACCORD_FRESH=1 ./scripts/start.sh   # throw the old network away first
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

NET_DIR="${ACCORD_NET_DIR:-$PWD/testnet}"
VALIDATORS="${ACCORD_VALIDATORS:-1}"

printf '\033[1;34m[start]\033[0m building accord (release; the first build takes a while)\n' >&2
cargo build --release -p accord-node --bin accord --locked
ACCORD="$CARGO_TARGET_DIR/release/accord"

if [ "${ACCORD_FRESH:-0}" = 1 ]; then rm -rf "$NET_DIR"; fi
if [ ! -d "$NET_DIR/node0" ]; then
    "$ACCORD" testnet --validators "$VALIDATORS" --out "$NET_DIR"
fi

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for home in "$NET_DIR"/node*; do
    "$ACCORD" start --home "$home" 2>>"$home/node.log" &
    pids+=("$!")
done

cat <<INFO

Accord is running. Logs: $NET_DIR/node*/node.log
  JSON-RPC (HTTP + WebSocket): http://127.0.0.1:8545   chain id 1337
  Prometheus metrics:          http://127.0.0.1:9600/metrics
  Funded dev accounts:         $NET_DIR/accounts.json
  Status:                      $ACCORD status
Press Ctrl-C to stop.
INFO
wait
