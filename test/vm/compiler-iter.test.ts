// TypeScript iterators (test/fixtures/ts/kinds/iter.bpf.ts) on the VM kernels, where map-element
// iterators are allowed (the host refuses iter/bpf_map_elem with EPERM): the bpf_map_elem iterator
// prints a map's elements through its typed ctx.key(u32)/ctx.value(u64) views; the task iterator lists
// this process.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../src/object/reader.js";
import { attachIter } from "../../src/runtime/links/iter.js";
import { u32 } from "../helpers/loader.js";
import { ProgramSet } from "../helpers/program-set.js";
import { IN_VM, vmObject } from "./fixtures.js";

const skip = IN_VM ? undefined : "iter/bpf_map_elem is refused on the host (EPERM); runs in the VM: npm run test:vm";

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe("vm: TypeScript iterators", { skip }, () => {
  let set: ProgramSet;
  before(async () => {
    set = new ProgramSet(readCollectionSpec(new Uint8Array(readFileSync(await vmObject("ts_iter"))), { name: "ts_iter" }));
  });
  after(() => set?.close());

  test("bpf_map_elem: one key=value line per element, a fresh pass per open()", async () => {
    const elems = set.map("elems");
    for (const [k, v] of [[1, 10], [2, 20], [40, 4000]] as const) elems.setRaw(u32(k), u64(v));
    using link = attachIter(set.program("dumpElems"), { map: elems });
    assert.deepEqual((await link.text()).split("\n").filter(Boolean).sort(), ["1=10", "2=20", "40=4000"]);
    elems.deleteRaw(u32(2));
    assert.deepEqual((await link.text()).split("\n").filter(Boolean).sort(), ["1=10", "40=4000"]);
  });

  test("task: this process's pid and comm", async () => {
    using link = attachIter(set.program("dumpTasks"));
    const comm = readFileSync("/proc/self/comm", "utf8").trim();
    assert.ok((await link.text()).split("\n").includes(`${process.pid} ${comm}`));
  });
});
