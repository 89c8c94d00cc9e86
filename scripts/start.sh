#!/usr/bin/env bash
# The main job: builds accord (release) and the example contracts, writes a local network into ./testnet (once: 4
# PBFT validators and one observer), runs it in the foreground, deploys the example token and the settlement,
# receivables and bills contracts and runs one short flow of each (once; recorded in testnet/contracts.json), and
# prints every node's endpoints and the contracts' addresses. Ctrl-C stops it cleanly; run again to resume the same
# chain.
#
#   ./scripts/start.sh                                   # 4 validators + 1 observer
#   ACCORD_VALIDATORS=7 ACCORD_OBSERVERS=0 ./scripts/start.sh
#   ACCORD_FRESH=1 ./scripts/start.sh                    # throw the old network away first
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

NET_DIR="${ACCORD_NET_DIR:-$PWD/testnet}"
VALIDATORS="${ACCORD_VALIDATORS:-4}"
OBSERVERS="${ACCORD_OBSERVERS:-1}"

printf '\033[1;34m[start]\033[0m building accord (release; the first build takes a while)\n' >&2
cargo build --release -p accord-node --bin accord --locked
ACCORD="$CARGO_TARGET_DIR/release/accord"

if [ "${ACCORD_FRESH:-0}" = 1 ]; then rm -rf "$NET_DIR"; fi
if [ ! -d "$NET_DIR/node0" ]; then
    "$ACCORD" testnet --validators "$VALIDATORS" --observers "$OBSERVERS" --out "$NET_DIR"
fi

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for home in "$NET_DIR"/node*; do
    "$ACCORD" start --home "$home" >>"$home/node.out" 2>>"$home/node.log" &
    pids+=("$!")
done

# Wait for every node to print its ready line (or die trying).
for home in "$NET_DIR"/node*; do
    for _ in $(seq 1 300); do
        grep -q ' ready ' "$home/node.out" 2>/dev/null && break
        sleep 0.1
    done
done

echo
echo "Accord is running: $(ls -d "$NET_DIR"/node* | wc -l) nodes, chain id 1337. Logs: $NET_DIR/node*/node.log"
for home in "$NET_DIR"/node*; do
    tail -n 1 "$home/node.out" 2>/dev/null | sed 's/^accord node /  /' || echo "  $(basename "$home"): not ready, see $home/node.log"
done
echo "Example contracts:"
"$ACCORD_VENV/bin/python" scripts/deploy_examples.py http://127.0.0.1:8545 "$NET_DIR" \
    || echo "  (deploying the examples failed; the network runs without them)"
cat <<INFO
  JSON-RPC (HTTP + WebSocket) of node I: http://127.0.0.1:(8545 + I)
  Funded dev accounts:                   $NET_DIR/accounts.json
  Status:                                $ACCORD status --rpc http://127.0.0.1:8545
Press Ctrl-C to stop.
INFO
wait
