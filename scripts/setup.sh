#!/usr/bin/env bash
# Prepares this machine for tsbpf's tests and examples: Debian packages, bpffs and tracefs mounts,
# npm dependencies with the native addon and the TypeScript build. Idempotent; fast when all is there.
# Usage: bash scripts/setup.sh      (needs root: installs packages and mounts filesystems)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { echo "setup: $*"; }
die() {
  echo "setup: ERROR: $*" >&2
  exit 1
}
started=$SECONDS

# --- Node.js ----------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed (tsbpf needs Node.js >= 20)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js $(node --version) is too old: tsbpf needs >= 20"

# --- Debian packages --------------------------------------------------------------------------
# Each check is "kind:what:package": a command on PATH, or a file that must exist.
# clang/llvm (Debian's default, 14) build the C corpus; LLVM 19 (clang-19, llvm-mc-19) knows BPF cpu v4
# and is what the asm tests cross-check the encoder against.
multiarch="/usr/include/$(uname -m)-linux-gnu"
checks=(
  "cmd:clang:clang"
  "cmd:llvm-objdump:llvm"
  "cmd:llvm-readelf:llvm"
  "cmd:llvm-mc:llvm"
  "cmd:llvm-objcopy:llvm"
  "cmd:clang-19:clang-19"
  "cmd:llvm-mc-19:llvm-19"
  "cmd:bpftool:bpftool"
  "cmd:ip:iproute2"
  "cmd:make:make"
  "cmd:g++:g++"
  "cmd:python3:python3"
  "file:/usr/include/bpf/bpf_helpers.h:libbpf-dev"
  "file:/usr/include/linux/bpf.h:linux-libc-dev"
  "file:$multiarch/asm/types.h:linux-libc-dev"
  "cmd:qemu-system-x86_64:qemu-system-x86"
  "file:/bin/busybox:busybox-static"
  "file:$multiarch/sys/sdt.h:systemtap-sdt-dev"
)
missing=()
for check in "${checks[@]}"; do
  IFS=: read -r kind what package <<<"$check"
  case $kind in
    cmd) command -v "$what" >/dev/null 2>&1 && continue ;;
    file) [[ -e $what ]] && continue ;;
  esac
  [[ " ${missing[*]-} " == *" $package "* ]] || missing+=("$package")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}); run this script as root to install them"
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get to install them"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  for check in "${checks[@]}"; do
    IFS=: read -r kind what package <<<"$check"
    case $kind in
      cmd) command -v "$what" >/dev/null 2>&1 || die "$what still missing after installing $package" ;;
      file) [[ -e $what ]] || die "$what still missing after installing $package" ;;
    esac
  done
else
  log "Debian packages present ($(clang --version | head -1 | sed 's/ version / /'), $(bpftool version | head -1))"
fi

# --- Kernel filesystems -----------------------------------------------------------------------
mount_fs() { # type mountpoint
  if mountpoint -q "$2"; then return 0; fi
  [[ $(id -u) -eq 0 ]] || die "$2 is not mounted and only root can mount $1 there"
  mkdir -p "$2"
  mount -t "$1" "$1" "$2" || die "mount -t $1 $1 $2 failed"
  log "mounted $1 on $2"
}
mount_fs bpf /sys/fs/bpf
mount_fs tracefs /sys/kernel/tracing
[[ -e /sys/kernel/btf/vmlinux ]] || log "warning: /sys/kernel/btf/vmlinux is missing (kernel without BTF): CO-RE tests will fail"

# --- npm dependencies, native addon, TypeScript build ------------------------------------------
# `npm ci`/`npm install` run node-gyp for the addon (binding.gyp) and `prepare` (tsc) themselves.
newer_than() { # file, then paths: true when any file under the paths is newer than file
  local target=$1
  shift
  [[ -e $target ]] || return 0
  [[ -n $(find "$@" -newer "$target" -type f -print -quit 2>/dev/null) ]]
}
if [[ ! -d node_modules ]] || newer_than node_modules/.package-lock.json package.json $( [[ -f package-lock.json ]] && echo package-lock.json); then
  if [[ -f package-lock.json ]]; then
    log "npm ci (installs dependencies, builds the native addon, runs tsc)"
    npm ci --no-audit --no-fund || die "npm ci failed"
  else
    log "npm install (no package-lock.json; installs dependencies, builds the native addon, runs tsc)"
    npm install --no-audit --no-fund || die "npm install failed"
  fi
else
  if [[ -f binding.gyp ]] && newer_than build/Release/tsbpf.node binding.gyp native; then
    log "rebuilding the native addon (native/ changed)"
    npx --no-install node-gyp rebuild >/dev/null || die "node-gyp rebuild failed"
  fi
  if newer_than dist/index.js src package.json tsconfig.json tsconfig.build.json; then
    log "npm run build (src/ changed)"
    npm run --silent build || die "tsc build failed"
  fi
fi
log "ready in $((SECONDS - started))s"
