#!/usr/bin/env bash
# The quick start: prepares the machine and runs the execsnoop example — its kernel half is TypeScript,
# compiled by tsbpf on first run — printing one line per exec until Ctrl-C.
# Usage: bash scripts/quickstart.sh [--duration N] [--c]   (N seconds, then exit; --c: the clang-built twin)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
example=examples/execsnoop
bash scripts/build-bpf.sh "$example/execsnoop.bpf.c" "$example/execsnoop.bpf.o"
echo "quickstart: built $example/execsnoop.bpf.o"
if [[ ! -f $example/main.ts ]]; then
  echo "quickstart: $example/main.ts (the userspace half) is not written yet" >&2
  exit 1
fi
echo "quickstart: running $example (Ctrl-C to stop)"
exec node --import tsx "$example/main.ts" "$@"
