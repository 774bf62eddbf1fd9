// freplace and lsm_cgroup written in TypeScript (test/fixtures/ts/kinds/freplace.bpf.ts, lsm-cgroup.bpf.ts)
// on the VM kernels (the host refuses extension and trampoline programs). freplace replaces `verdict` of
// the C program freplace_target.bpf.c, so the target's XDP verdict (test runs) follows the TypeScript code
// while attached, and the original after; lsm_cgroup denies getsid() to a targeted child in its cgroup only.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { counterAt } from "../helpers/loader.js";
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { u32 } from "../helpers/loader.js";
import { attachCgroup } from "../../src/runtime/links/cgroup.js";
import { IN_VM, runSyscaller, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "freplace needs a kernel that allows extension programs (runs in the VM: npm run test:vm)";
const object = async (name: string) => readCollectionSpec(new Uint8Array(readFileSync(await vmObject(name))), { name });

describe("vm: TypeScript freplace", { skip }, () => {
  test("replaces the C target's verdict function until detached; the replacement reads the XDP context", async () => {
    using base = loadCollection(await object("freplace_target"));
    const main = base.program("xdp_main");
    const long = new Uint8Array(64), short = new Uint8Array(20);
    assert.equal(main.testRun({ data: long }).retval, 2, "XDP_PASS before");
    using ext = loadCollection(await object("ts_freplace"), { freplace: { newVerdict: { target: main } } });
    {
      using _l = ext.program("newVerdict").attach();
      assert.equal(main.testRun({ data: long }).retval, 1, "XDP_DROP from the TypeScript replacement (64 bytes > 32)");
      assert.equal(main.testRun({ data: short }).retval, 2, "XDP_PASS from it for 20 bytes");
      assert.equal(counterAt(ext.map("runs"), 64), 1);
      assert.equal(counterAt(ext.map("runs"), 20), 1);
    }
    assert.equal(main.testRun({ data: long }).retval, 2, "XDP_PASS again after detach");
    assert.equal(counterAt(ext.map("runs"), 64), 1, "the replacement no longer runs");
  });
});

describe("vm: TypeScript lsm_cgroup", { skip }, () => {
  test("denies getsid() to a targeted child inside the cgroup it is attached to, not outside, not once detached", async () => {
    using coll = loadCollection(await object("ts_lsm_cgroup"));
    const target = (pid: number) => coll.map("targets").setRaw(u32(pid), u32(1));
    const cg = `/sys/fs/cgroup/tsbpf-wk2-lsm-${process.pid}`;
    mkdirSync(cg, { recursive: true });
    const inCgroup = (pid: number) => {
      target(pid);
      writeFileSync(`${cg}/cgroup.procs`, String(pid));
    };
    try {
      {
        using _l = attachCgroup(coll.program("cgGetsid"), cg);
        const inside = await runSyscaller("getsid", 3, inCgroup);
        assert.deepEqual([inside.ok, inside.eperm], [0, 3]);
        assert.equal(counterAt(coll.map("denied"), inside.pid), 3);
        const outside = await runSyscaller("getsid", 2, target);
        assert.deepEqual([outside.ok, outside.eperm], [2, 0], "a targeted child outside the cgroup is not denied");
      }
      const after = await runSyscaller("getsid", 2, inCgroup);
      assert.deepEqual([after.ok, after.eperm], [2, 0], "not denied once detached");
    } finally {
      rmdirSync(cg);
    }
  });
});
