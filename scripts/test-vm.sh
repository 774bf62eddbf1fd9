#!/usr/bin/env bash
# Runs the VM test suite (test/vm/*.test.ts: kprobes, fentry/fexit/fmod_ret, LSM, CO-RE portability) on
# Debian's 6.1 kernel under qemu (TCG), with the host's root shared over virtio-9p. See scripts/vm/README.md.
# Usage: bash scripts/test-vm.sh [test files...]     (default: every test/vm/*.test.ts)
# Env: TSBPF_VM_KERNEL=linux-image-6.1.0-N-amd64 picks the kernel package; TSBPF_VM_TIMEOUT (seconds,
#      default 900); TSBPF_VM_MEM (default 2G); TSBPF_VM_CPUS (default: host cores, at most 4).
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

# --- Kernel: Debian's linux-image-6.1.*-amd64, downloaded once with apt and extracted ----------------
pkg=${TSBPF_VM_KERNEL:-}
if [[ -z $pkg ]]; then
  # Reuse whatever kernel was extracted before, so a warm cache needs no apt at all.
  pkg=$(ls -1 "$cache/kernel" 2>/dev/null | grep -E '^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$|^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1 || true)
fi
if [[ -z $pkg ]]; then
  command -v apt-cache >/dev/null 2>&1 || die "no cached VM kernel and no apt-cache to find linux-image-6.1.*-amd64"
  pkg=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9.]+-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
  if [[ -z $pkg ]]; then
    apt-get update -qq || true
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9.]+-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
  fi
  [[ -n $pkg ]] || die "apt knows no linux-image-6.1.*-amd64 package (needs Debian bookworm sources in /etc/apt)"
fi
kdir="$cache/kernel/$pkg"
if [[ ! -f $kdir/.complete ]]; then
  log "downloading $pkg with apt-get download"
  rm -rf "$kdir" && mkdir -p "$kdir/deb"
  (cd "$kdir/deb" && apt-get download "$pkg" >/dev/null 2>"$kdir/download.log") ||
    die "apt-get download $pkg failed: $(tail -3 "$kdir/download.log")"
  dpkg -x "$kdir"/deb/*.deb "$kdir/root" || die "dpkg -x of $pkg failed"
  rm -rf "$kdir/deb"
  touch "$kdir/.complete"
fi
vmlinuz=$(ls "$kdir"/root/boot/vmlinuz-* 2>/dev/null | head -1)
[[ -n $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-*: delete $kdir and retry"
kver=${vmlinuz##*/vmlinuz-}
moddir="$kdir/root/lib/modules/$kver"

# --- initramfs: busybox + the virtio-9p modules + scripts/vm/init --------------------------------------
# Then the modules the network tests need (veth pairs, clsact + cls_bpf): the guest runs the host's
# root, whose /lib/modules belongs to the host kernel, so init loads these before it chroots.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p
  veth sch_ingress cls_bpf)
initrd="$cache/initramfs-$kver.cpio.gz"
if [[ ! -f $initrd || scripts/vm/init -nt $initrd || /bin/busybox -nt $initrd || $(cat "$initrd.modules" 2>/dev/null) != "${modules[*]}" ]]; then
  log "building the initramfs for $kver"
  stage=$(mktemp -d "$cache/initramfs.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,modules,proc,sys,dev,host}
  cp /bin/busybox "$stage/bin/busybox"
  cp scripts/vm/init "$stage/init"
  chmod +x "$stage/init"
  : >"$stage/modules.order"
  for m in "${modules[@]}"; do
    ko=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
    if [[ -z $ko ]]; then
      # Built into this kernel: nothing to load.
      grep -qE "/$m\.ko" "$moddir/modules.builtin" 2>/dev/null && continue
      die "module $m not found under $moddir"
    fi
    case $ko in
      *.xz) xz -dc "$ko" >"$stage/modules/$m.ko" ;;
      *.zst) zstd -qdc "$ko" >"$stage/modules/$m.ko" ;;
      *) cp "$ko" "$stage/modules/$m.ko" ;;
    esac
    echo "$m" >>"$stage/modules.order"
  done
  (cd "$stage" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp") || die "cpio of the initramfs failed"
  mv "$initrd.tmp" "$initrd"
  echo "${modules[*]}" >"$initrd.modules"
  rm -rf "$stage"
  trap - EXIT
fi

# --- Host-side preparation: bundle the tests to JS, compile C fixtures (the VM only runs them) -------
if (($#)); then files=("$@"); else files=(test/vm/*.test.ts); fi
((${#files[@]})) && [[ -e ${files[0]} ]] || die "no VM test files (test/vm/*.test.ts)"
run="$cache/run"
rm -rf "$run" && mkdir -p "$run"
log "preparing ${#files[@]} test file(s) on the host"
node --import tsx scripts/vm/prepare.ts "$run" "${files[@]}" || die "host-side preparation failed"
[[ -f $run/run.sh ]] || die "preparation wrote no $run/run.sh"

# --- Host half of the CO-RE portability check: the same object the VM loads, on this kernel ----------
log "CO-RE portability on the host ($(uname -r))"
TSBPF_VM_MANIFEST="$run/fixtures.json" node --import tsx --test --test-reporter=dot test/vm/core-portable.test.ts ||
  die "the CO-RE portability test failed on the host kernel"

# --- Boot ----------------------------------------------------------------------------------------
cpus=${TSBPF_VM_CPUS:-$(nproc)}
((cpus > 4)) && cpus=4
timeout_s=${TSBPF_VM_TIMEOUT:-900}
console="$run/console.log"
log "booting $kver under qemu (TCG, $cpus cpus, ${TSBPF_VM_MEM:-2G}); console in ${console#"$repo"/}"
boot_started=$SECONDS
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp "$cpus" -m "${TSBPF_VM_MEM:-2G}" \
  -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 quiet lsm=lockdown,capability,bpf panic=-1 TSBPF_REPO=$repo TSBPF_RUN_DIR=$run TSBPF_CI=${CI:-}" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap,id=hostroot" \
  -nographic -monitor none -serial stdio -nic none -no-reboot </dev/null 2>&1 | tee "$console"
qemu_status=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - boot_started))
status=$(grep -a -o 'TSBPF_VM_EXIT=[0-9]*' "$console" | tail -1 | cut -d= -f2 || true)
if [[ -z $status ]]; then
  ((qemu_status == 124)) && die "the VM did not finish within ${timeout_s}s (TSBPF_VM_TIMEOUT); see $console"
  die "the VM stopped without reporting a status (qemu exit $qemu_status); see $console"
fi
case $status in
  0) log "VM suite passed in ${elapsed}s (total $((SECONDS - started))s)" ;;
  98) die "the VM could not enter $repo" ;;
  99) die "the VM could not mount the host root over virtio-9p; see $console" ;;
  *) die "VM suite failed (status $status) after ${elapsed}s; see $console" ;;
esac
