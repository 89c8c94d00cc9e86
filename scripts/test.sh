#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the contracts workspace, the Rust test suites (unit, integration
# with real node processes and RocksDB, the PBFT simulation, four-validator networks, the SIGKILL durability loop,
# contracts through the VM), the web3.py client tests against a real node (the explorer in headless Chromium), the
# docker-compose network of five containers, and the upgrade across two builds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path contracts/Cargo.toml --all -- --check

step "contracts: clippy and native tests (the wasm build runs inside the node's build)"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/contracts-native" cargo clippy --manifest-path contracts/Cargo.toml --workspace --all-targets --locked -- -D warnings
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/contracts-native" cargo test --manifest-path contracts/Cargo.toml --workspace --locked

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit and integration tests)"
cargo test --workspace --locked

step "web3.py against a real node"
# The node binary `cargo test` built for the integration tests (a separate `cargo build` would resolve features
# without the dev-dependencies and rebuild half the tree).
test -x "$CARGO_TARGET_DIR/debug/accord"
ACCORD_BIN="$CARGO_TARGET_DIR/debug/accord" "$ACCORD_VENV/bin/python" -m pytest -q tests/web3py

step "docker: the compose network of 4 validators and 1 observer, each its own container (docker/tests)"
ACCORD_BIN="$CARGO_TARGET_DIR/debug/accord" "$ACCORD_VENV/bin/python" -m pytest -q docker/tests

step "upgrade: nodes on two builds (scripts/upgrade-test.sh)"
scripts/upgrade-test.sh
