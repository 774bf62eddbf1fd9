// kprobes on a kernel without them (this host): loading works, every way of attaching fails with a
// typed KPROBES_UNSUPPORTED error naming the missing feature. The real attach tests are in test/vm/.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MissingFeatureError, TsbpfError } from "../../src/errors.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachKprobe, attachKprobeMulti, kprobeSupport, parseKprobeTarget } from "../../src/runtime/links/kprobe.js";
import { bpffsProblem, compileAndRead } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const SOURCE = "test/fixtures/c/probes/kprobe.bpf.c";
const support = kprobeSupport();
const hasKprobes = support.pmu || support.tracefs;

describe("attach: kprobe target parsing", () => {
  test("function, function+offset (decimal and hex)", () => {
    assert.deepEqual(parseKprobeTarget("do_sys_openat2"), { symbol: "do_sys_openat2", offset: 0n });
    assert.deepEqual(parseKprobeTarget("vfs_read+16"), { symbol: "vfs_read", offset: 16n });
    assert.deepEqual(parseKprobeTarget("vfs_read+0x10"), { symbol: "vfs_read", offset: 16n });
    assert.throws(() => parseKprobeTarget("bad target"), (e: unknown) => e instanceof TsbpfError && e.code === "ATTACH_BAD_TARGET");
  });
});

describe("attach: kprobe on a kernel without kprobes", { ...privileged(bpffsProblem), ...(hasKprobes ? { skip: "this kernel has kprobes (the VM suite tests attaching)" } : {}) }, () => {
  let coll: Collection;
  before(async () => {
    coll = loadCollection((await compileAndRead(SOURCE)).spec);
  });
  after(() => coll?.close());

  const isNoKprobes = (e: unknown) =>
    e instanceof MissingFeatureError && e.code === "KPROBES_UNSUPPORTED" && /no kprobes/.test(e.message) && /CONFIG_KPROBES/.test(e.message);

  test("kprobe, kretprobe and ksyscall programs load (BPF_PROG_TYPE_KPROBE exists) but attaching says why it cannot", () => {
    for (const name of ["on_getpid_entry", "on_getpid_return"]) {
      assert.throws(() => coll.program(name).attach(), isNoKprobes, name);
    }
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "do_nanosleep", mode: "tracefs" }), (e: unknown) => e instanceof MissingFeatureError && e.code === "KPROBES_UNSUPPORTED");
    assert.throws(() => attachKprobe(coll.program("on_getpid_entry"), { symbol: "do_nanosleep", mode: "perf" }), (e: unknown) => e instanceof MissingFeatureError && e.code === "KPROBES_UNSUPPORTED");
  });

  test("kprobe.multi says the same", () => {
    assert.throws(() => attachKprobeMulti(coll.program("on_multi"), { pattern: "vfs_*" }), isNoKprobes);
  });

  test("the message names the operation and the program", () => {
    try {
      coll.program("on_getpid_entry").attach();
      assert.fail("attach succeeded");
    } catch (e) {
      assert.match((e as Error).message, /attach program "on_getpid_entry" to kprobe /);
    }
  });
});
