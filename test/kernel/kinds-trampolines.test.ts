// freplace and lsm_cgroup written in TypeScript (test/fixtures/ts/kinds/freplace.bpf.ts, lsm-cgroup.bpf.ts):
// the freplace object carries the prototype the kernel matches against the replaced function
// (`int (struct xdp_md *ctx)`); both are loaded for real (freplace against a real target program). This
// host refuses extension and trampoline programs before verification (EPERM): the typed refusal is
// asserted here, with the feature probe agreeing; test/vm/compiler-trampolines.test.ts runs them.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { haveAttachType, haveProgramType } from "../../src/features.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { compileTs } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";
import { unlessKernelRefuses } from "../helpers/program-set.js";
import { vmObject } from "../vm/fixtures.js";

const kind = (name: string) => readCollectionSpec(compileTs(join(REPO_ROOT, `test/fixtures/ts/kinds/${name}.bpf.ts`)));
const spec = () => readCollectionSpec(compileTs(join(REPO_ROOT, "test/fixtures/ts/kinds/freplace.bpf.ts")));

test("kinds: a freplace program is an EXT program whose BTF prototype names the target kind's context struct", () => {
  const s = spec();
  const p = s.programs.get("newVerdict")!;
  assert.deepEqual([p.sectionName, p.type, p.attachTarget], ["freplace/verdict", "EXT", "verdict"]);
  const btf = s.btf!;
  const fn = btf.type(btf.findOne("newVerdict", "func")!);
  assert.ok(fn.kind === "func");
  assert.equal(btf.toString(fn.type), "int (struct xdp_md *)");
});

describe("kinds: freplace on this kernel", privileged(), () => {
  test("replaces the C target's verdict (XDP_DROP for a long packet) where the kernel allows extensions; the typed refusal otherwise", async (t) => {
    using base = loadCollection(readCollectionSpec(new Uint8Array(readFileSync(await vmObject("freplace_target")))));
    const main = base.program("xdp_main");
    const data = new Uint8Array(64);
    assert.equal(main.testRun({ data }).retval, 2, "XDP_PASS from the original verdict");
    const ext = unlessKernelRefuses(t, "extension programs", () => loadCollection(spec(), { freplace: { newVerdict: { target: main } } }), () => haveProgramType("EXT"));
    if (!ext) return;
    using _ext = ext;
    {
      using _l = ext.program("newVerdict").attach();
      assert.equal(main.testRun({ data }).retval, 1, "XDP_DROP from the TypeScript replacement");
    }
    assert.equal(main.testRun({ data }).retval, 2, "XDP_PASS again once detached");
  });
});

describe("kinds: lsm_cgroup on this kernel", privileged(), () => {
  test("an LSM program of attach type LSM_CGROUP; loads where the kernel allows trampolines, the typed refusal otherwise", (t) => {
    const s = kind("lsm-cgroup");
    const p = s.programs.get("cgGetsid")!;
    assert.deepEqual([p.sectionName, p.type, p.expectedAttachType, p.attachTarget], ["lsm_cgroup/task_getsid", "LSM", "LSM_CGROUP", "task_getsid"]);
    const coll = unlessKernelRefuses(t, "lsm_cgroup programs", () => loadCollection(s), () => haveAttachType("LSM", "LSM_CGROUP"));
    coll?.close();
  });
});
