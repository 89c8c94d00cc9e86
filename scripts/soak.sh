#!/usr/bin/env bash
# Long runs kept out of the regular test command: the idle-network growth check over the ten minutes issue 8 names,
# and the SIGKILL storm with 100 kills instead of the suite's 20.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ACCORD_IDLE_SECS="${ACCORD_IDLE_SECS:-600}" cargo test -p accord-node --locked --test idle -- --nocapture
ACCORD_KILLS="${ACCORD_KILLS:-100}" cargo test -p accord-node --locked --test kill_storm -- --nocapture
