// fentry/fexit/LSM programs written in TypeScript (test/fixtures/ts/vm/tracing.bpf.ts) on the VM kernel:
// typed ctx.args/ctx.ret and direct BTF loads pass the 6.1 verifier and see a child's real getsid calls.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { counterAt, u32 } from "../helpers/loader.js";
import { IN_VM, runSyscaller, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "fentry/fexit/LSM need a kernel that allows trampolines (runs in the VM: npm run test:vm)";

describe("vm: TypeScript fentry/fexit/LSM with typed arguments", { skip }, () => {
  let coll: Collection;
  before(async () => {
    coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(await vmObject("ts_tracing"))), { name: "ts_tracing" }));
  });
  after(() => coll?.close());
  const target = (pid: number) => coll.map("targets").setRaw(u32(pid), u32(1));
  const i32At = (map: string, pid: number) => {
    const raw = coll.map(map).getRaw(u32(pid));
    return raw ? new DataView(raw.buffer, raw.byteOffset).getInt32(0, true) : undefined;
  };

  test("fentry reads ctx.args.p.tgid and currentTask().real_parent; fexit sees ctx.ret; detaching stops them", async () => {
    const entry = coll.program("onGetsid").attach();
    const exit = coll.program("onGetsidDone").attach();
    let r;
    try {
      r = await runSyscaller("getsid", 5, target);
      assert.equal(r.ok, 5);
      assert.equal(counterAt(coll.map("entries"), r.pid), 5, "fentry saw p == the caller five times");
      assert.equal(i32At("exits", r.pid), 0, "security_task_getsid returned 0");
      assert.equal(i32At("parents", r.pid), process.pid, "the child's real parent is this node process");
    } finally {
      entry.close();
      exit.close();
    }
    const r2 = await runSyscaller("getsid", 3, target);
    assert.equal(counterAt(coll.map("entries"), r2.pid), undefined);
  });

  test("lsm/task_getsid denies targeted children by their typed task argument, only while attached", async () => {
    {
      using _l = coll.program("denyGetsid").attach();
      const r = await runSyscaller("getsid", 4, target);
      assert.equal(r.eperm, 4);
      assert.equal(r.ok, 0);
    }
    const r = await runSyscaller("getsid", 2, target);
    assert.equal(r.ok, 2);
  });
});
