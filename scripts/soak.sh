#!/usr/bin/env bash
# Long runs kept out of the regular test command: the idle-network growth check over the ten minutes issue 8 names.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ACCORD_IDLE_SECS="${ACCORD_IDLE_SECS:-600}" cargo test -p accord-node --locked --test idle -- --nocapture
