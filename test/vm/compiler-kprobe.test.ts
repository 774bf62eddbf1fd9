// kprobes written in TypeScript (test/fixtures/ts/vm/kprobe.bpf.ts) on the VM kernels: kprobe ctx.args.<name>
// read from the argument registers, kretprobe's typed ctx.ret(), ksyscall's arguments from the caller's
// registers and kretsyscall, and kprobe.multi over a glob (6.12; a typed error on 6.1, no CONFIG_FPROBE),
// all counting a child's getsid(getpid()) calls; detaching stops them.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MissingFeatureError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { kernelConfig } from "../../src/runtime/kconfig.js";
import { attachKprobeMulti, kprobeSupport } from "../../src/runtime/links/kprobe.js";
import { counterAt, u32 } from "../helpers/loader.js";
import { runSyscaller, vmObject } from "./fixtures.js";

const skip = kprobeSupport().pmu ? undefined : "this kernel has no kprobes (runs in the VM: npm run test:vm)";

describe("vm: TypeScript kprobes with named, typed arguments", { skip }, () => {
  let coll: Collection;
  before(async () => {
    coll = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(await vmObject("ts_kprobe"))), { name: "ts_kprobe" }));
  });
  after(() => coll?.close());
  const target = (pid: number) => coll.map("targets").setRaw(u32(pid), u32(1));
  const valueAt = (map: string, pid: number, signed = false) => {
    const raw = coll.map(map).getRaw(u32(pid));
    if (!raw) return undefined;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return raw.byteLength === 4 ? (signed ? dv.getInt32(0, true) : dv.getUint32(0, true)) : Number(dv.getBigUint64(0, true));
  };
  /** Field `n` after the command of /proc/<pid>/stat (0: state, 3: session). */
  const statField = (pid: number, n: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[n]);

  test("kprobe ctx.args.p, kretprobe ctx.ret(), the wrapper's ctx.args.regs.di, ksyscall ctx.arg(0) and kretsyscall see getsid; nothing after close", async () => {
    const names = ["onGetsid", "onGetsidDone", "onGetsidWrapper", "sysGetsid", "sysGetsidDone"];
    const links = names.map((n) => coll.program(n).attach());
    let r;
    let sid = 0;
    try {
      r = await runSyscaller("getsid", 5, (pid) => {
        target(pid);
        sid = statField(pid, 3);
      });
      assert.equal(r.ok, 5);
      assert.equal(counterAt(coll.map("entries"), r.pid), 5, "kprobe saw ctx.args.p == the caller five times");
      assert.equal(valueAt("exits", r.pid, true), 0, "security_task_getsid returned 0 (kretprobe ctx.ret(), i32)");
      assert.equal(valueAt("wrapperArgs", r.pid), r.pid, "__x64_sys_getsid's ctx.args.regs.di is getsid's argument");
      assert.equal(valueAt("sysArgs", r.pid, true), r.pid, "ksyscall ctx.arg<i32>(0) is the pid the child passed");
      assert.equal(valueAt("sysRets", r.pid), sid, "kretsyscall ctx.ret() is the session id getsid returned");
    } finally {
      for (const l of links) l.close();
    }
    const r2 = await runSyscaller("getsid", 3, target);
    for (const m of ["entries", "exits", "wrapperArgs", "sysArgs", "sysRets"]) assert.equal(valueAt(m, r2.pid), undefined, `${m}: nothing after close`);
  });

  const fprobe = kernelConfig()?.get("CONFIG_FPROBE") === "y";
  test(fprobe ? "kprobeMulti over security_task_getsi* counts the child's getsid calls" : "kprobeMulti: a typed error without CONFIG_FPROBE", async () => {
    if (!fprobe) {
      assert.throws(() => attachKprobeMulti(coll.program("onGetsidMulti")), (e: unknown) => e instanceof MissingFeatureError && e.code === "KPROBE_MULTI_UNSUPPORTED");
      return;
    }
    {
      using _l = coll.program("onGetsidMulti").attach();
      const r = await runSyscaller("getsid", 4, target);
      assert.equal(counterAt(coll.map("multi"), r.pid), 4);
    }
    const r2 = await runSyscaller("getsid", 2, target);
    assert.equal(counterAt(coll.map("multi"), r2.pid), undefined, "nothing after close");
  });
});
