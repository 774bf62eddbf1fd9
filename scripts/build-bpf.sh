#!/usr/bin/env bash
# Compiles one eBPF C source (*.bpf.c) into a BPF ELF object with clang and libbpf's headers,
# with the same flags as test/helpers/toolchain.ts. Usage: bash scripts/build-bpf.sh <src.bpf.c> <out.o> [clang flags...]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: bash scripts/build-bpf.sh <src.bpf.c> <out.o> [extra clang flags...]" >&2
  exit 2
fi
src=$1
out=$2
shift 2

clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null 2>&1; then
  echo "build-bpf: $clang not found; run \`bash scripts/setup.sh\` (installs clang, llvm, libbpf-dev, bpftool)" >&2
  exit 1
fi
libbpf_include=${LIBBPF_INCLUDE:-/usr/include}
if [[ ! -f $libbpf_include/bpf/bpf_helpers.h ]]; then
  echo "build-bpf: $libbpf_include/bpf/bpf_helpers.h not found; run \`bash scripts/setup.sh\` (installs libbpf-dev)" >&2
  exit 1
fi

machine=$(uname -m)
case $machine in
  x86_64 | i?86) arch=x86 ;;
  aarch64 | arm64) arch=arm64 ;;
  arm*) arch=arm ;;
  ppc* | powerpc*) arch=powerpc ;;
  riscv*) arch=riscv ;;
  loongarch*) arch=loongarch ;;
  s390*) arch=s390 ;;
  mips*) arch=mips ;;
  *) arch=$machine ;;
esac

includes=()
[[ $libbpf_include != /usr/include ]] && includes+=("-I$libbpf_include")
includes+=("-I$libbpf_include/bpf")
for dir in "/usr/include/$machine-linux-gnu" "/usr/include/$machine-linux-gnueabihf"; do
  [[ -d $dir ]] && includes+=("-I$dir")
done

mkdir -p "$(dirname "$out")"
"$clang" -O2 -g -target bpf -mcpu=v3 "-D__TARGET_ARCH_$arch" "${includes[@]}" "$@" -c "$src" -o "$out"
