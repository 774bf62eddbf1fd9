#!/usr/bin/env bash
# The test command: prepares the machine (scripts/setup.sh), then runs every test suite (npm test).
# Usage: bash scripts/test.sh [suite...]   e.g. `bash scripts/test.sh unit interop`; no suite = all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" # bpftool lives in /usr/sbin

bash scripts/setup.sh
started=$SECONDS
status=0
npm test --silent -- "$@" || status=$?
echo "test: suites finished in $((SECONDS - started))s (exit $status)"
exit "$status"
