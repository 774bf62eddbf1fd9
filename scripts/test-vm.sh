#!/usr/bin/env bash
# Runs the VM test suite (test/vm/*.test.ts: kprobes, kprobe_multi, fentry/fexit/fmod_ret, LSM, struct_ops,
# CO-RE portability) on Debian's 6.1 and 6.12 kernels, one after the other, under qemu (TCG) with the host's
# root shared over virtio-9p. See scripts/vm/README.md.
# Usage: bash scripts/test-vm.sh [test files...]     (default: every test/vm/*.test.ts)
# Env: TSBPF_VM_KERNELS="6.1 6.12" (default) picks the kernels, in order: a series (newest package of it) or
#      a package name (linux-image-6.1.0-57-amd64), separated by spaces or commas;
#      TSBPF_VM_TIMEOUT (seconds per kernel, default 900); TSBPF_VM_MEM (default 2G);
#      TSBPF_VM_CPUS (default: host cores, at most 4); TSBPF_VM_KEEP=1 keeps the run directory after a pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { echo "test-vm: $*"; }
die() {
  echo "test-vm: ERROR: $*" >&2
  exit 1
}
started=$SECONDS
cache="$repo/.cache/vm"
mkdir -p "$cache"

# --- Host tools -------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[[ -x /bin/busybox ]] && file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || need+=(busybox-static)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v file >/dev/null 2>&1 || need+=(file)
if ((${#need[@]})); then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1 ||
    die "missing ${need[*]}: install them (apt-get install ${need[*]}) or run this script as root on Debian"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    die "apt-get install ${need[*]} failed"
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 still missing"
file -L /bin/busybox | grep -q "statically linked" || die "/bin/busybox is not the static build (apt-get install busybox-static)"
[[ -d node_modules/esbuild ]] || die "node_modules/esbuild is missing: run npm install (or bash scripts/setup.sh)"
[[ -f build/Release/tsbpf.node ]] || die "the native addon is not built: run bash scripts/setup.sh"

# --- Kernels: Debian's linux-image-<series>.*-amd64, downloaded once with apt and extracted ----------
# Each kernel lives in .cache/vm/<package>/: root/ (the extracted package), initramfs.cpio.gz (+ .modules).
[[ -z ${TSBPF_VM_KERNEL:-} ]] ||
  die "TSBPF_VM_KERNEL was replaced by TSBPF_VM_KERNELS (a list): run with TSBPF_VM_KERNELS=$TSBPF_VM_KERNEL"
list=${TSBPF_VM_KERNELS-6.1 6.12}
read -r -a wanted <<<"${list//,/ }"
((${#wanted[@]})) || die "TSBPF_VM_KERNELS is empty: give kernel series (6.1 6.12) or package names"

apt_updated=
# newest_package <series>: the newest cached package of the series, else the newest apt knows.
newest_package() {
  local re cached found
  re="^linux-image-${1//./\\.}\\.[0-9.]+(-[0-9]+|\\+deb[0-9]+)-amd64\$"
  cached=$(for d in "$cache"/linux-image-*/.complete; do [[ -f $d ]] && basename "$(dirname "$d")"; done | grep -E "$re" | sort -V | tail -1 || true)
  [[ -n $cached ]] && { echo "$cached"; return; }
  command -v apt-cache >/dev/null 2>&1 || die "no cached $1 kernel and no apt-cache to find linux-image-$1.*-amd64"
  found=$(apt-cache search --names-only "$re" | cut -d' ' -f1 | sort -V | tail -1)
  if [[ -z $found && -z $apt_updated ]]; then
    apt_updated=1
    apt-get update -qq >&2 || true
    found=$(apt-cache search --names-only "$re" | cut -d' ' -f1 | sort -V | tail -1)
  fi
  [[ -n $found ]] || die "apt knows no linux-image-$1.*-amd64 package (Debian bookworm has 6.1 in bookworm and 6.12 in bookworm-security/updates in /etc/apt)"
  echo "$found"
}

# Modules the initramfs loads, after the modules they depend on (each .ko's modinfo "depends="; the package
# has no modules.dep): virtio-9p for the host root, then what the network tests need (veth pairs, clsact +
# cls_bpf). The guest runs the host's root, whose /lib/modules belongs to the host kernel, so init loads
# these before it chroots.
want_modules=(virtio_pci 9pnet_virtio 9p veth sch_ingress cls_bpf)

# build_initramfs <kdir> <module dir>: busybox, the modules and scripts/vm/init, in <kdir>/initramfs.cpio.gz.
build_initramfs() {
  local kdir=$1 moddir=$2 initrd=$1/initramfs.cpio.gz stage m rel
  if [[ -f $initrd && ! scripts/vm/init -nt $initrd && ! /bin/busybox -nt $initrd && $(cat "$initrd.modules" 2>/dev/null) == "${want_modules[*]}" ]]; then
    return
  fi
  log "building the initramfs for ${moddir##*/}"
  local -A path_of=() seen=()
  while IFS= read -r rel; do
    m=${rel##*/} && m=${m%%.ko*} && path_of[${m//-/_}]=$rel
  done <"$moddir/modules.order"
  stage=$(mktemp -d "$kdir/initramfs.XXXXXX")
  mkdir -p "$stage"/{bin,modules,proc,sys,dev,host}
  : >"$stage/modules.order"
  # add_module <name>: its dependencies first, then itself (decompressed into the stage).
  add_module() {
    local name=${1//-/_} ko out dep
    [[ -n ${seen[$name]:-} ]] && return
    seen[$name]=1
    if [[ -z ${path_of[$name]:-} ]]; then
      # Built into this kernel: nothing to load.
      grep -qE "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null && return
      die "module $name is neither in $moddir/modules.order nor built in"
    fi
    ko=$moddir/${path_of[$name]%%.ko*}.ko
    out=$stage/modules/$name.ko
    if [[ -f $ko ]]; then cp "$ko" "$out"
    elif [[ -f $ko.xz ]]; then xz -dc "$ko.xz" >"$out"
    elif [[ -f $ko.zst ]]; then
      command -v zstd >/dev/null 2>&1 || die "$ko.zst needs zstd (apt-get install zstd)"
      zstd -qdc "$ko.zst" >"$out"
    else die "module $name: no $ko(.xz|.zst)"; fi
    for dep in $(tr '\0' '\n' <"$out" | grep -a -m1 '^depends=' | cut -d= -f2 | tr ',' ' '); do
      add_module "$dep"
    done
    echo "$name" >>"$stage/modules.order"
  }
  for m in "${want_modules[@]}"; do add_module "$m"; done
  cp /bin/busybox "$stage/bin/busybox"
  cp scripts/vm/init "$stage/init"
  chmod +x "$stage/init"
  (cd "$stage" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp") || { rm -rf "$stage"; die "cpio of the initramfs failed"; }
  mv "$initrd.tmp" "$initrd"
  echo "${want_modules[*]}" >"$initrd.modules"
  rm -rf "$stage"
}

# prepare_kernel <package>: download and extract once, build the initramfs; sets vmlinuz, initrd, kver and
# kboot (the package's /boot, with config-<kver>, which the guest mounts on /boot).
prepare_kernel() {
  local pkg=$1 kdir=$cache/$1
  if [[ ! -f $kdir/.complete ]]; then
    log "downloading $pkg with apt-get download"
    rm -rf "$kdir" && mkdir -p "$kdir/deb"
    (cd "$kdir/deb" && apt-get download "$pkg" >/dev/null 2>"$kdir/download.log") ||
      die "apt-get download $pkg failed: $(tail -3 "$kdir/download.log")"
    dpkg -x "$kdir"/deb/*.deb "$kdir/root" || die "dpkg -x of $pkg failed"
    rm -rf "$kdir/deb"
    touch "$kdir/.complete"
  fi
  kboot=$kdir/root/boot
  vmlinuz=$(ls "$kboot"/vmlinuz-* 2>/dev/null | head -1)
  [[ -n $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-*: delete $kdir and retry"
  kver=${vmlinuz##*/vmlinuz-}
  build_initramfs "$kdir" "$kdir/root/lib/modules/$kver"
  initrd=$kdir/initramfs.cpio.gz
}

pkgs=()
for w in "${wanted[@]}"; do
  case $w in
    linux-image-*) pkgs+=("$w") ;;
    [0-9]*.[0-9]*) pkg=$(newest_package "$w") || exit 1 && pkgs+=("$pkg") ;;
    *) die "TSBPF_VM_KERNELS: \"$w\" is neither a kernel series (6.1, 6.12) nor a package name (linux-image-6.1.0-57-amd64)" ;;
  esac
done
for pkg in "${pkgs[@]}"; do prepare_kernel "$pkg"; done

# --- Host-side preparation: bundle the tests to JS, compile C fixtures (the VM only runs them) -------
# One run directory per invocation (concurrent runs do not collide), one console log per kernel in it.
# Run directories of runs older than a day (left by failures) are removed.
if (($#)); then files=("$@"); else files=(test/vm/*.test.ts); fi
((${#files[@]})) && [[ -e ${files[0]} ]] || die "no VM test files (test/vm/*.test.ts)"
mkdir -p "$cache/runs"
find "$cache/runs" -mindepth 1 -maxdepth 1 -type d -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
run=$(mktemp -d "$cache/runs/$(date +%Y%m%d-%H%M%S).XXXX")
log "preparing ${#files[@]} test file(s) on the host in ${run#"$repo"/}"
node --import tsx scripts/vm/prepare.ts "$run" "${files[@]}" || { rm -rf "$run"; die "host-side preparation failed"; }
[[ -f $run/run.sh ]] || die "preparation wrote no $run/run.sh"

# --- Host half of the CO-RE portability check: the same object the VM loads, on this kernel ----------
log "CO-RE portability on the host ($(uname -r))"
TSBPF_VM_MANIFEST="$run/fixtures.json" node --import tsx --test --test-reporter=dot test/vm/core-portable.test.ts ||
  die "the CO-RE portability test failed on the host kernel"

# --- Boot each kernel in turn --------------------------------------------------------------------
cpus=${TSBPF_VM_CPUS:-$(nproc)}
((cpus > 4)) && cpus=4
timeout_s=${TSBPF_VM_TIMEOUT:-900}
summary=()
failed=0
for pkg in "${pkgs[@]}"; do
  prepare_kernel "$pkg" # sets vmlinuz, initrd, kver (cached by now)
  console="$run/$kver/console.log"
  mkdir -p "$run/$kver"
  log "booting $kver under qemu (TCG, $cpus cpus, ${TSBPF_VM_MEM:-2G}); console in ${console#"$repo"/}"
  boot_started=$SECONDS
  set +e
  timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -smp "$cpus" -m "${TSBPF_VM_MEM:-2G}" \
    -kernel "$vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet lsm=lockdown,capability,bpf panic=-1 TSBPF_REPO=$repo TSBPF_RUN_DIR=$run TSBPF_VM_KVER=$kver TSBPF_VM_BOOT=$kboot TSBPF_CI=${CI:-}" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap,id=hostroot" \
    -nographic -monitor none -serial stdio -nic none -no-reboot </dev/null 2>&1 | tee "$console"
  qemu_status=${PIPESTATUS[0]}
  set -e
  elapsed=$((SECONDS - boot_started))
  status=$(grep -a -o 'TSBPF_VM_EXIT=[0-9]*' "$console" | tail -1 | cut -d= -f2 || true)
  # node --test's closing counts: "ℹ tests 57", "ℹ pass 55", "ℹ fail 0", "ℹ skipped 2".
  counts=$(tr -d '\r' <"$console" | sed 's/\x1b\[[0-9;]*m//g' | grep -a -oE '^ℹ (tests|pass|fail|skipped) [0-9]+$' | tail -4 | sed 's/^ℹ //' | paste -sd' ' || true)
  case $status in
    0) result="passed" ;;
    98) result="FAILED: the VM could not enter $repo" ;;
    99) result="FAILED: the VM could not mount the host root over virtio-9p" ;;
    "") if ((qemu_status == 124)); then result="FAILED: did not finish within ${timeout_s}s (TSBPF_VM_TIMEOUT)"; else result="FAILED: the VM stopped without reporting a status (qemu exit $qemu_status)"; fi ;;
    *) result="FAILED (status $status)" ;;
  esac
  [[ $status == 0 ]] || failed=1
  summary+=("$kver: $result in ${elapsed}s${counts:+ ($counts)}")
  log "$kver: $result in ${elapsed}s${counts:+ ($counts)}"
done

log "summary (${#files[@]} file(s)):"
for line in "${summary[@]}"; do log "  $line"; done
log "  total $((SECONDS - started))s"
if ((failed)); then
  die "the VM suite failed on at least one kernel; console logs in ${run#"$repo"/}/<kernel>/console.log"
fi
[[ ${TSBPF_VM_KEEP:-} == 1 ]] || rm -rf "$run"
