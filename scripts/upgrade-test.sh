#!/usr/bin/env bash
# Issue 9's upgrade path with nodes on two builds: builds a second `accord` that supports compatibility version 2
# (ACCORD_SUPPORTED_VERSION=2 at compile time), then runs node/tests/upgrade.rs, which replaces binaries one node at
# a time, raises the version while one node is still on the old build, and checks what each side does.
# Called by scripts/test.sh; on its own after a `cargo test` it rebuilds only the node crate (twice).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

next="$CARGO_TARGET_DIR/accord-next/accord"
mkdir -p "$(dirname "$next")"
# The same command and features as scripts/test.sh, so only the node crate is rebuilt.
ACCORD_SUPPORTED_VERSION=2 cargo test --workspace --locked --no-run -q
cp "$CARGO_TARGET_DIR/debug/accord" "$next"
ACCORD_NEXT_BIN="$next" cargo test --workspace --locked --test upgrade -- --ignored --nocapture
