// The kernel test suite's feature gate (test/helpers/needs.ts), with kernels faked through the syscall
// seam: a feature the kernel lacks or refuses skips the test naming the probe's answer, under CI=true
// too; a kernel that has it runs the test.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { FakeSys } from "../../src/sys/fake.js";
import { withSys } from "../../src/sys/seam.js";
import { featureProblem, needs } from "../helpers/needs.js";
import { privilegeProblem } from "../helpers/privileges.js";

const root = privilegeProblem() === undefined;

test("a kernel that lacks a feature: skipped with the probe's answer, under CI=true as well", { skip: root ? undefined : "the gate checks privileges first (run as root)" }, () => {
  const ci = process.env.CI;
  try {
    for (const env of [undefined, "true"]) {
      if (env === undefined) delete process.env.CI;
      else process.env.CI = env;
      const lacks = withSys(new FakeSys().fail("bpf", "EINVAL"), () => needs({ programType: "NETFILTER" }));
      assert.match(lacks.skip ?? "", /^this kernel \(.+\) lacks NETFILTER programs: EINVAL: BPF_PROG_LOAD answered EINVAL/);
      const refuses = withSys(new FakeSys().fail("bpf", "EPERM"), () => needs({ mapType: "ARENA" }));
      assert.match(refuses.skip ?? "", /refuses ARENA maps: EPERM: BPF_MAP_CREATE answered EPERM/);
      assert.deepEqual(withSys(new FakeSys(), () => needs({ mapType: "HASH", programType: "XDP" })), {});
    }
  } finally {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  }
});

test("inside a test: false and t.skip(answer) when lacking, true when present", { skip: root ? undefined : "the gate checks privileges first (run as root)" }, () => {
  const skipped: string[] = [];
  const t = { skip: (m: string) => skipped.push(m), diagnostic: () => {} } as unknown as TestContext;
  assert.equal(withSys(new FakeSys().fail("bpf", "EINVAL"), () => needs(t, { programType: ["XDP", "SK_LOOKUP"] })), false);
  assert.match(skipped[0] ?? "", /lacks XDP programs/);
  assert.equal(withSys(new FakeSys(), () => needs(t, { programType: "SK_LOOKUP" })), true);
  assert.equal(skipped.length, 1);
  assert.equal(withSys(new FakeSys(), () => featureProblem({})), undefined);
});
