// fentry/fexit, fmod_ret, LSM, lsm_cgroup and freplace on the VM kernel (6.1; the host refuses
// trampolines with EPERM): real syscalls from a child, counted per pid, denied with EPERM while attached.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { SyscallError, TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { attachCgroup } from "../../src/runtime/links/cgroup.js";
import { counterAt, readGlobal, u32 } from "../helpers/loader.js";
import { IN_VM, runSyscaller, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "fentry/fexit/LSM need a kernel that allows trampolines (runs in the VM: npm run test:vm)";

async function spec(name: string): Promise<CollectionSpec> {
  return readCollectionSpec(new Uint8Array(readFileSync(await vmObject(name))), { name });
}

describe("vm: fentry/fexit/fmod_ret/LSM", { skip }, () => {
  let coll: Collection;
  before(async () => {
    coll = loadCollection(await spec("tracing"));
  });
  after(() => coll?.close());
  const target = (pid: number) => coll.map("targets").setRaw(u32(pid), u32(1));

  test("fentry and fexit count a child's getpgid calls; fexit sees the return value; detaching stops them", async () => {
    const entry = coll.program("on_getpgid_entry").attach();
    const exit = coll.program("on_getpgid_exit").attach();
    let r;
    try {
      r = await runSyscaller("getpgid", 9, target);
      assert.equal(r.ok, 9);
      assert.equal(counterAt(coll.map("entries"), r.pid), 9);
      assert.equal(counterAt(coll.map("exits"), r.pid), 9);
      assert.ok(Number(readGlobal(coll, "last_ret")) >= 0, "getpgid(0) returned a process group id, not an error");
      assert.equal(entry.info().type, 2 /* BPF_LINK_TYPE_TRACING */);
    } finally {
      entry.close();
      exit.close();
    }
    const r2 = await runSyscaller("getpgid", 4, target);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined);
  });

  test("fmod_ret on security_task_getsid makes getsid fail with EPERM, only while attached", async () => {
    {
      using _l = coll.program("deny_getsid_ret").attach();
      const r = await runSyscaller("getsid", 5, target);
      assert.deepEqual([r.ok, r.eperm], [0, 5]);
      assert.equal(counterAt(coll.map("denied"), r.pid), 5);
      const other = await runSyscaller("getsid", 2);
      assert.deepEqual([other.ok, other.eperm], [2, 0], "processes not in targets are unaffected");
    }
    const after = await runSyscaller("getsid", 3, target);
    assert.deepEqual([after.ok, after.eperm], [3, 0]);
  });

  test("BPF LSM hook task_getsid denies, only while attached", async () => {
    {
      using _l = coll.program("deny_getsid_lsm").attach();
      const r = await runSyscaller("getsid", 4, target);
      assert.deepEqual([r.ok, r.eperm], [0, 4]);
    }
    const after = await runSyscaller("getsid", 4, target);
    assert.deepEqual([after.ok, after.eperm], [4, 0]);
  });

  test("lsm_cgroup denies only inside the cgroup it is attached to", async () => {
    const cg = `/sys/fs/cgroup/tsbpf-lsm-${process.pid}`;
    mkdirSync(cg, { recursive: true });
    try {
      {
        using _l = attachCgroup(coll.program("cg_getsid"), cg);
        const inside = await runSyscaller("getsid", 3, (pid) => {
          target(pid);
          writeFileSync(`${cg}/cgroup.procs`, String(pid));
        });
        assert.deepEqual([inside.ok, inside.eperm], [0, 3]);
        const outside = await runSyscaller("getsid", 3, target);
        assert.deepEqual([outside.ok, outside.eperm], [3, 0]);
      }
      const after = await runSyscaller("getsid", 2, (pid) => {
        target(pid);
        writeFileSync(`${cg}/cgroup.procs`, String(pid));
      });
      assert.deepEqual([after.ok, after.eperm], [2, 0]);
    } finally {
      rmdirSync(cg);
    }
  });

  test("attaching the same fentry program twice fails with a typed error", () => {
    using _l = coll.program("on_getpgid_entry").attach();
    assert.throws(() => coll.program("on_getpgid_entry").attach(), (e: unknown) => e instanceof SyscallError && ["EBUSY", "ENOENT", "EINVAL"].includes(e.code));
  });
});

describe("vm: freplace", { skip }, () => {
  test("an extension replaces a global function of a loaded program until detached", async () => {
    using base = loadCollection(await spec("freplace_target"));
    const main = base.program("xdp_main");
    const data = new Uint8Array(64);
    assert.equal(main.testRun({ data }).retval, 2, "XDP_PASS before");
    using ext = loadCollection(await spec("freplace"), { freplace: { new_verdict: { target: main } } });
    const link = ext.program("new_verdict").attach();
    try {
      assert.equal(main.testRun({ data }).retval, 1, "XDP_DROP from the extension");
      assert.equal(Number(readGlobal(ext, "runs")), 1);
    } finally {
      link.close();
    }
    assert.equal(main.testRun({ data }).retval, 2, "XDP_PASS again after detach");
  });

  test("bad input: no target, unknown function", async () => {
    assert.throws(() => loadCollection(readCollectionSpecSync("freplace")), (e: unknown) => e instanceof TsbpfError && e.code === "FREPLACE_NEEDS_TARGET");
    using base = loadCollection(await spec("freplace_target"));
    assert.throws(() => loadCollection(readCollectionSpecSync("freplace"), { freplace: { new_verdict: { target: base.program("xdp_main"), function: "nope" } } }),
      (e: unknown) => e instanceof TsbpfError && e.code === "SYMBOL_NOT_FOUND");
  });
});

const specCache = new Map<string, CollectionSpec>();
function readCollectionSpecSync(name: string): CollectionSpec {
  const s = specCache.get(name);
  if (!s) throw new Error(`spec ${name} not read yet`);
  return s;
}
before(async () => {
  if (skip) return;
  for (const n of ["freplace"]) specCache.set(n, await spec(n));
});
