// The VM suite's own sanity checks: the guest runs the kernel scripts/test-vm.sh booted (Debian 6.1 or 6.12)
// with the hooks the host lacks (kprobes, BPF LSM), and the kernel filesystems the tests use are mounted.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { IN_VM } from "./fixtures.js";

describe("vm: environment", { skip: IN_VM ? undefined : "runs inside the test VM (npm run test:vm)" }, () => {
  test("runs the kernel scripts/test-vm.sh booted", () => {
    // TSBPF_VM_KVER comes from the kernel command line scripts/test-vm.sh wrote.
    assert.equal(release(), process.env.TSBPF_VM_KVER);
  });
  test("has kprobes, BPF LSM, BTF, tracefs and bpffs", () => {
    assert.ok(existsSync("/sys/bus/event_source/devices/kprobe/type"), "kprobe PMU");
    assert.match(readFileSync("/sys/kernel/security/lsm", "utf8"), /\bbpf\b/, "BPF LSM active");
    assert.ok(existsSync("/sys/kernel/btf/vmlinux"), "vmlinux BTF");
    assert.ok(existsSync("/sys/kernel/tracing/available_filter_functions"), "tracefs");
    const mounts = readFileSync("/proc/self/mounts", "utf8");
    assert.match(mounts, / \/sys\/fs\/bpf bpf /);
  });
});
