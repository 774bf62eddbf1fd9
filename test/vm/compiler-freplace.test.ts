// freplace written in TypeScript (test/fixtures/ts/kinds/freplace.bpf.ts) on the VM kernels (the host
// refuses extension programs): it replaces `verdict` of the C program freplace_target.bpf.c, so the
// target's XDP verdict (test runs) follows the TypeScript code while attached, and the original after.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { counterAt } from "../helpers/loader.js";
import { IN_VM, vmObject } from "./fixtures.js";

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
