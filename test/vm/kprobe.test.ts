// kprobe, kretprobe, ksyscall, offsets, the tracefs fallback and kprobe.multi on the VM kernel (6.1),
// triggered by a child's getpid() calls and counted per pid; detaching stops the counting.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { MissingFeatureError, TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachKprobe, attachKprobeMulti, kprobeSupport } from "../../src/runtime/links/kprobe.js";
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
    // Offset 0 is the function itself; a kprobe must sit on an instruction boundary, and the first
    // instruction of an ftrace-enabled function is the 5-byte call to __fentry__.
    using _l = attachKprobe(coll.program("on_offset"), { symbol: "__x64_sys_getpid", offset: 5 });
    const r = await runSyscaller("getpid", 6);
    assert.equal(counterAt(coll.map("offs"), r.pid), 6);
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

  test("kprobe.multi: a typed error on this kernel (Debian 6.1 has no CONFIG_FPROBE), or counts when present", async () => {
    try {
      using _l = attachKprobeMulti(coll.program("on_multi"));
      const r = await runSyscaller("getpid", 4);
      assert.equal(counterAt(coll.map("multi"), r.pid), 4);
    } catch (e) {
      assert.ok(e instanceof MissingFeatureError && e.code === "KPROBE_MULTI_UNSUPPORTED", String(e));
      assert.match((e as Error).message, /CONFIG_FPROBE/);
    }
  });

  test("bad input: unknown function (perf and tracefs), offset on a kretprobe, malformed target", () => {
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "tsbpf_no_such_function" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "SYMBOL_NOT_FOUND" && /tsbpf_no_such_function/.test(e.message));
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "tsbpf_no_such_function", mode: "tracefs" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "SYMBOL_NOT_FOUND");
    assert.throws(() => attachKprobe(coll.program("on_getpid_return"), { symbol: "__x64_sys_getpid", offset: 4 }),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
    assert.throws(() => coll.program("on_getpid_entry").attach({ target: "not a function" }),
      (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
  });
});
