#!/bin/bash
# Runs inside the tsbpf test VM, chrooted into the host's root: mounts the kernel filesystems the
# tests need, runs the command list scripts/test-vm.sh prepared in $TSBPF_RUN_DIR, returns its status.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI="${TSBPF_CI:-}"
mnt() { # type target   (the guest starts with only proc, sysfs and devtmpfs mounted, by init)
  mkdir -p "$2" && mount -t "$1" "$1" "$2" || echo "tsbpf-vm: mount $1 on $2 failed"
}
# A fresh /tmp, unless the repository itself lives there (CI clones into /tmp): keep the host's then.
case "$TSBPF_REPO" in /tmp/*) ;; *) mnt tmpfs /tmp ;; esac
mnt tmpfs /run
mnt debugfs /sys/kernel/debug
mnt tracefs /sys/kernel/tracing
mnt bpf /sys/fs/bpf
mnt cgroup2 /sys/fs/cgroup
mnt securityfs /sys/kernel/security
mkdir -p /dev/pts /dev/shm && mnt devpts /dev/pts && mnt tmpfs /dev/shm
# The booted kernel's package /boot (config-$(uname -r), System.map) on /boot, as on an installed system:
# the kernel configuration is what tsbpf's .kconfig support and the tests' feature probes read.
[[ -n ${TSBPF_VM_BOOT:-} ]] && { mount --bind "$TSBPF_VM_BOOT" /boot || echo "tsbpf-vm: cannot mount $TSBPF_VM_BOOT on /boot"; }
ulimit -l unlimited
ip link set lo up || echo "tsbpf-vm: cannot bring lo up"
cd "$TSBPF_REPO" || exit 98
echo "tsbpf-vm: kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime)s"
bash "$TSBPF_RUN_DIR/run.sh"
