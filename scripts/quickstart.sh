#!/usr/bin/env bash
# The quick start: prepares the machine, builds the execsnoop example and runs it, printing one line
# per exec until Ctrl-C. Usage: bash scripts/quickstart.sh [--duration N]   (N seconds, then exit)
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
