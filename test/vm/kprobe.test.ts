// kprobe, kretprobe, ksyscall, offsets, the tracefs fallback and kprobe.multi/kretprobe.multi on the VM
// kernels (Debian 6.1: no CONFIG_FPROBE, so kprobe_multi is a typed missing feature; 6.12: real), triggered
// by a child's getpid()/getpgid() calls and counted per pid; detaching stops the counting.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { MissingFeatureError, TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { kernelConfig } from "../../src/runtime/kconfig.js";
import { attachKprobe, attachKprobeMulti, kprobeSupport, matchKernelFunctions } from "../../src/runtime/links/kprobe.js";
import { listLinks } from "../../src/runtime/links/list.js";
import { counterAt, readGlobal, u32, waitFor, writeGlobal } from "../helpers/loader.js";
import { runSyscaller, vmObject } from "./fixtures.js";

const skip = kprobeSupport().pmu ? undefined : "this kernel has no kprobes (runs in the VM: npm run test:vm)";

describe("vm: kprobes", { skip }, () => {
  let coll: Collection;
  before(async () => {
    const path = await vmObject("kprobe");
    coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(path)), { name: "kprobe" }));
  });
  after(() => coll?.close());

  test("kprobe (perf PMU) counts a child's getpid calls, with a cookie; nothing after close", async () => {
    const link = coll.program("on_getpid_entry").attach({ cookie: 0x5eedn });
    let r;
    try {
      assert.equal(link.isBpfLink, true);
      assert.equal(link.info().type, 7 /* BPF_LINK_TYPE_PERF_EVENT */);
      r = await runSyscaller("getpid", 12);
      assert.equal(counterAt(coll.map("entries"), r.pid), 12);
      assert.equal(BigInt(readGlobal(coll, "last_cookie") as bigint), 0x5eedn);
    } finally {
      link.close();
    }
    const r2 = await runSyscaller("getpid", 5);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined);
  });

  test("kretprobe sees the return value (the child's pid)", async () => {
    using _l = coll.program("on_getpid_return").attach();
    const r = await runSyscaller("getpid", 3, (pid) => writeGlobal(coll, "ret_tgid", u32(pid)));
    assert.equal(counterAt(coll.map("returns"), r.pid), 3);
    assert.equal(Number(readGlobal(coll, "last_ret")), r.pid);
  });

  test("ksyscall resolves the syscall's kernel function", async () => {
    using l = coll.program("on_getpid_sys").attach();
    assert.match(l.description, /__x64_sys_getpid/);
    const r = await runSyscaller("getpid", 4);
    assert.equal(counterAt(coll.map("sys_entries"), r.pid), 4);
  });

  test("kprobe at an offset into the function", async () => {
    // A kprobe must sit on an instruction boundary. An ftrace-enabled function starts with the 5-byte call
    // to __fentry__, behind a 4-byte endbr64 on kernels built with IBT (Debian 6.12): the first boundary
    // after it is 5 or 9. The kernel says which: a mid-instruction offset is ATTACH_BAD_TARGET.
    let link;
    for (const offset of [5, 9]) {
      try {
        link = attachKprobe(coll.program("on_offset"), { symbol: "__x64_sys_getpid", offset });
        break;
      } catch (e) {
        assert.ok(e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET" && /instruction boundary/.test(e.message), String(e));
      }
    }
    assert.ok(link, "offset 5 or 9 is an instruction boundary");
    try {
      const r = await runSyscaller("getpid", 6);
      assert.equal(counterAt(coll.map("offs"), r.pid), 6);
    } finally {
      link.close();
    }
  });

  test("legacy tracefs kprobe_events: works, and the event is removed on close", async () => {
    const link = attachKprobe(coll.program("on_getpid_entry"), { symbol: "__x64_sys_getpid", mode: "tracefs" });
    try {
      const r = await runSyscaller("getpid", 7);
      assert.equal(counterAt(coll.map("entries"), r.pid), 7);
      assert.match(readFileSync("/sys/kernel/tracing/kprobe_events", "utf8"), /tsbpf\/kp_/);
    } finally {
      link.close();
    }
    assert.doesNotMatch(readFileSync("/sys/kernel/tracing/kprobe_events", "utf8"), new RegExp(`tsbpf/kp_${process.pid}_`));
    const r2 = await runSyscaller("getpid", 2);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined);
  });

  test("without the kprobe PMU, attach() falls back to tracefs kprobe_events on its own", async () => {
    // Hide /sys/bus/event_source/devices/kprobe the way a kernel without the PMU (before 4.17) looks.
    const pmu = "/sys/bus/event_source/devices/kprobe";
    execFileSync("mount", ["-t", "tmpfs", "tsbpf-no-pmu", pmu]);
    let link;
    try {
      assert.deepEqual(kprobeSupport(), { pmu: false, tracefs: true });
      link = coll.program("on_getpid_entry").attach();
      assert.match(link.description, /\(tracefs\)/);
      assert.match(readFileSync("/sys/kernel/tracing/kprobe_events", "utf8"), new RegExp(`tsbpf/kp_${process.pid}_`));
      const r = await runSyscaller("getpid", 5);
      assert.equal(counterAt(coll.map("entries"), r.pid), 5);
    } finally {
      link?.close();
      execFileSync("umount", [pmu]);
    }
    assert.doesNotMatch(readFileSync("/sys/kernel/tracing/kprobe_events", "utf8"), new RegExp(`tsbpf/kp_${process.pid}_`));
    assert.equal(kprobeSupport().pmu, true);
    const r2 = await runSyscaller("getpid", 2);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined, "nothing after close");
  });

  test("a pinned kprobe link outlives its Link object; removing the pin detaches", async () => {
    const pin = `/sys/fs/bpf/tsbpf-vm-kprobe-${process.pid}`;
    const link = coll.program("on_getpid_entry").attach();
    const id = link.id;
    link.pin(pin);
    link.close();
    const r = await runSyscaller("getpid", 3);
    assert.equal(counterAt(coll.map("entries"), r.pid), 3, "still attached through the pin");
    assert.ok(listLinks().some((l) => l.id === id));
    rmSync(pin);
    assert.ok(await waitFor(() => !listLinks().some((l) => l.id === id)), "gone once unpinned");
    const r2 = await runSyscaller("getpid", 3);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined, "not attached after unpinning");
  });

  // kprobe_multi links need CONFIG_FPROBE (Debian 6.12 has it, 6.1 not): the booted kernel's config decides
  // what to expect (scripts/vm/guest.sh mounts the kernel package's /boot).
  const fprobe = kernelConfig()?.get("CONFIG_FPROBE") === "y";

  test(fprobe ? "kprobe.multi / kretprobe.multi over a glob count a child's getpgid calls and return values; nothing after close"
    : "kprobe.multi: a typed error on a kernel without CONFIG_FPROBE", async () => {
    assert.ok(kernelConfig(), "the kernel configuration is readable (/boot/config-$(uname -r))");
    if (!fprobe) {
      for (const name of ["on_multi", "on_multi_ret"]) {
        assert.throws(() => attachKprobeMulti(coll.program(name)),
          (e: unknown) => e instanceof MissingFeatureError && e.code === "KPROBE_MULTI_UNSUPPORTED" && /CONFIG_FPROBE/.test(e.message), name);
      }
      return;
    }
    const entry = attachKprobeMulti(coll.program("on_multi"));
    const ret = coll.program("on_multi_ret").attach();
    let r;
    let pgid = 0;
    try {
      assert.equal(entry.info().type, 8 /* BPF_LINK_TYPE_KPROBE_MULTI */);
      // __x64_sys_getpg*: getpgid, and getpgrp where the kernel lists it as traceable (6.1; not 6.12).
      const matched = matchKernelFunctions("__x64_sys_getpg*");
      assert.ok(matched.includes("__x64_sys_getpgid"), matched.join(" "));
      assert.equal(entry.info().kprobeMulti?.count, matched.length);
      assert.equal(ret.info().kprobeMulti?.flags, 1 /* BPF_F_KPROBE_MULTI_RETURN */);
      r = await runSyscaller("getpgid", 5, (pid) => {
        writeGlobal(coll, "ret_tgid", u32(pid));
        pgid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[2]);
      });
      assert.equal(counterAt(coll.map("multi"), r.pid), 5);
      assert.equal(counterAt(coll.map("multi_rets"), r.pid), 5);
      assert.equal(Number(readGlobal(coll, "last_multi_ret")), pgid, "getpgid(0) returned the child's process group");
    } finally {
      entry.close();
      ret.close();
    }
    const r2 = await runSyscaller("getpgid", 3);
    assert.equal(counterAt(coll.map("multi"), r2.pid), undefined, "nothing after close");
    assert.equal(counterAt(coll.map("multi_rets"), r2.pid), undefined);
  });

  test("bad input: unknown function (perf and tracefs), offset inside an instruction, offset on a kretprobe, malformed target", () => {
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "tsbpf_no_such_function" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "SYMBOL_NOT_FOUND" && /tsbpf_no_such_function/.test(e.message));
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "tsbpf_no_such_function", mode: "tracefs" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "SYMBOL_NOT_FOUND");
    // Offset 1 is inside the function's first instruction (the __fentry__ call, or endbr64): the kernel says EILSEQ.
    for (const mode of ["perf", "tracefs"] as const) {
      assert.throws(() => attachKprobe(coll.program("on_offset"), { symbol: "__x64_sys_getpid", offset: 1, mode }),
        (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET" && /__x64_sys_getpid\+0x1/.test(e.message) && /instruction boundary/.test(e.message), mode);
    }
    assert.doesNotMatch(readFileSync("/sys/kernel/tracing/kprobe_events", "utf8"), new RegExp(`tsbpf/kp_${process.pid}_`), "no event left behind");
    assert.throws(() => attachKprobe(coll.program("on_getpid_return"), { symbol: "__x64_sys_getpid", offset: 4 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
    assert.throws(() => coll.program("on_getpid_entry").attach({ target: "not a function" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
  });
});
