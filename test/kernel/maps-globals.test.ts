// Global variables by name: .rodata/.data set in the spec before load, .data/.bss read and written live
// through the mmap'd data maps after load, .rodata read-only, and clear errors for wrong names/layouts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MapError, TsbpfError } from "../../src/errors.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { getVariable, setVariable } from "../../src/runtime/maps/index.js";
import { struct, u16, u32, u64 } from "../../src/types/index.js";
import { compileAndRead } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";

const PACKET = new Uint8Array(64);
const Pair = struct({ a: u32, b: u64 });

describe("global variables", privileged(), () => {
  test("rodata set before load drives the program; data/bss read and written live", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/globals.bpf.c");
    assert.equal(getVariable(spec, "cfg_mult"), 1);
    setVariable(spec, "cfg_mult", 3);
    setVariable(spec, "cfg_add", 1n);
    assert.equal(getVariable(spec, "cfg_add"), 1n);
    using coll = loadCollection(spec);
    const tick = coll.program("tick");
    tick.testRun({ data: PACKET });
    tick.testRun({ data: PACKET });
    const acc = coll.variable("data_acc");
    const runs = coll.variable("bss_runs");
    assert.equal(acc.get(), 49n); // (5*3+1)*3+1
    assert.equal(runs.get(), 2);
    assert.deepEqual(coll.variable("pair", Pair).get(), { a: 2, b: 49n });
    // a write is seen by the next run, without a syscall on our side
    acc.set(0n);
    tick.testRun({ data: PACKET });
    assert.equal(acc.get(), 1n);
    const live = coll.variable("pair", Pair).view() as { a: number; b: bigint };
    tick.testRun({ data: PACKET });
    assert.equal(live.a, 4);
    assert.equal(live.b, 4n);
    // .rodata is readable but frozen
    const mult = coll.variable("cfg_mult");
    assert.equal(mult.get(), 3);
    assert.equal(mult.readonly, true);
    assert.throws(() => mult.set(5), (e: unknown) => e instanceof MapError && e.code === "MAP_READ_ONLY" && /cfg_mult/.test(e.message));
  });

  test("errors name the variable and what is wrong", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/maps/globals.bpf.c");
    assert.throws(() => setVariable(spec, "nope", 1), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_FOUND" && /cfg_mult/.test(e.message));
    assert.throws(() => setVariable(spec, "cfg_mult", 1, u16), (e: unknown) => e instanceof MapError && e.code === "BAD_LAYOUT" && /cfg_mult/.test(e.message));
    assert.throws(() => setVariable(spec, "cfg_mult", -1), (e: unknown) => e instanceof MapError && e.code === "BAD_VALUE");
    using coll = loadCollection(spec);
    assert.throws(() => coll.variable("data_acc", u32), (e: unknown) => e instanceof MapError && e.code === "BAD_LAYOUT");
    assert.throws(() => coll.variable("missing"), (e: unknown) => e instanceof TsbpfError && e.code === "NOT_FOUND");
  });
});
