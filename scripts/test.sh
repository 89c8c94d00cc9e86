#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the Rust test suites (unit, integration with real node processes
# and RocksDB, the SIGKILL durability loop) and the web3.py client tests against a real node.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit and integration tests)"
cargo test --workspace --locked

step "web3.py against a real node"
cargo build -p accord-node --bin accord --locked
ACCORD_BIN="$CARGO_TARGET_DIR/debug/accord" "$ACCORD_VENV/bin/python" -m pytest -q tests/web3py
