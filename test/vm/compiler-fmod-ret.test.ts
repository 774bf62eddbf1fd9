// fmod_ret and sleepable fentry/fexit/LSM written in TypeScript (test/fixtures/ts/kinds/fmod-ret.bpf.ts) on
// the VM kernels (the host refuses BPF trampolines): fmod_ret fails a targeted child's getsid() with EPERM
// instead of calling the hook; lsm.s counts an exec; fentry.s/fexit.s on getpgid run where the kernel has
// error injection (Debian's do not: the verifier's refusal is asserted).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { VerifierError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import type { CollectionSpec } from "../../src/object/spec.js";
import { kernelConfig } from "../../src/runtime/kconfig.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { counterAt, u32 } from "../helpers/loader.js";
import { IN_VM, runSyscaller, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "fmod_ret and sleepable trampolines need a kernel that allows them (runs in the VM: npm run test:vm)";

describe("vm: TypeScript fmod_ret and sleepable fentry/fexit/LSM", { skip }, () => {
  let coll: Collection;
  let spec: CollectionSpec;
  before(async () => {
    spec = readCollectionSpec(new Uint8Array(readFileSync(await vmObject("ts_fmod_ret"))), { name: "ts_fmod_ret" });
    coll = loadCollection(spec, { programs: ["denyGetsid", "execCommitted"] });
  });
  after(() => coll?.close());

  test("fmodRet returns -EPERM for targeted children instead of calling security_task_getsid; others and detached run it", async () => {
    {
      using _l = coll.program("denyGetsid").attach();
      const r = await runSyscaller("getsid", 4, (pid) => coll.map("targets").setRaw(u32(pid), u32(1)));
      assert.equal(r.eperm, 4);
      assert.equal(counterAt(coll.map("refused"), r.pid), 4);
      const other = await runSyscaller("getsid", 2);
      assert.equal(other.ok, 2, "an untargeted child is not refused");
    }
    const r = await runSyscaller("getsid", 2, (pid) => coll.map("targets").setRaw(u32(pid), u32(1)));
    assert.equal(r.ok, 2, "not refused once detached");
  });

  // A sleepable fentry/fexit needs a function open to error injection (syscalls are, with
  // CONFIG_FUNCTION_ERROR_INJECTION) or a sleepable fmod_ret kfunc; Debian's kernels lack the option.
  const errorInjection = kernelConfig()?.get("CONFIG_FUNCTION_ERROR_INJECTION") === "y";
  test(errorInjection ? "fentrySleepable reads getpgid's argument through the typed regs; fexitSleepable sees it succeed"
    : "fentrySleepable on a syscall: the verifier's typed refusal without CONFIG_FUNCTION_ERROR_INJECTION", async () => {
    if (!errorInjection) {
      assert.throws(() => loadCollection(spec, { programs: ["getpgidEntry"] }),
        (e: unknown) => e instanceof VerifierError && /__x64_sys_getpgid is not sleepable/.test(e.message));
      return;
    }
    using both = loadCollection(spec, { programs: ["getpgidEntry", "getpgidExit"] });
    assert.equal(both.program("getpgidEntry").spec.sleepable, true);
    using _e = both.program("getpgidEntry").attach();
    using _x = both.program("getpgidExit").attach();
    const r = await runSyscaller("getpgid", 3);
    assert.equal(r.ok, 3);
    const raw = both.map("pgidArgs").getRaw(u32(r.pid));
    assert.ok(raw, "fentry.s ran in the child");
    assert.equal(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true), 0n, "getpgid(0)");
    assert.equal(counterAt(both.map("refused"), r.pid), undefined, "fexit.s saw no failure");
  });

  test("lsmSleepable counts an exec that committed credentials", () => {
    using _l = coll.program("execCommitted").attach();
    const child = spawnSync("/bin/true");
    assert.equal(child.status, 0);
    assert.equal(counterAt(coll.map("execs"), child.pid!), 1);
  });
});
