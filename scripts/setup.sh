#!/usr/bin/env bash
# Installs everything Accord's build and tests need on a fresh Debian machine with rustup. Idempotent and quick
# when everything is already there. Sourced by start.sh and test.sh.
set -euo pipefail

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# RocksDB's Rust bindings are generated with bindgen, which needs libclang; its C++ needs a compiler.
need_apt=()
dpkg -s libclang-dev >/dev/null 2>&1 || need_apt+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# jq: the operator guide's walkthrough reads addresses from `accord keygen`'s JSON; headless Chromium renders the
# explorer page in its test.
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v chromium-headless-shell >/dev/null 2>&1 || need_apt+=(chromium-headless-shell)
if ((${#need_apt[@]})); then
    log "installing ${need_apt[*]} (apt-get)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# rustup does not auto-install targets here; contracts build for wasm32-unknown-unknown.
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >/dev/null
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        log "adding rustup component ${component}"
        rustup component add "${component}" >/dev/null
    fi
done

# One build directory outside the clone, so repeated runs (and fresh clones on the same machine) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${TMPDIR:-/tmp}/accord-target}"

# Python clients (web3.py) used by the client-compatibility tests, in their own virtualenv.
ACCORD_VENV="${ACCORD_VENV:-${TMPDIR:-/tmp}/accord-venv}"
# PyYAML and jsonschema check the node's answers against the vendored execution-apis specification;
# prometheus_client's parser checks /metrics is valid Prometheus text format.
if [ ! -x "$ACCORD_VENV/bin/python" ] \
    || ! "$ACCORD_VENV/bin/python" -c 'import web3, pytest, yaml, jsonschema, prometheus_client' 2>/dev/null; then
    log "creating python virtualenv with web3, pytest, pyyaml, jsonschema and prometheus_client in $ACCORD_VENV"
    python3 -m venv "$ACCORD_VENV"
    "$ACCORD_VENV/bin/pip" install -q --disable-pip-version-check 'web3>=7,<9' 'pytest>=8' 'pyyaml>=6' \
        'jsonschema>=4.18' 'prometheus_client>=0.20' >/dev/null
fi
export ACCORD_VENV
