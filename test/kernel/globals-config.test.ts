// Configuration set before load through the `globals` option: the same TypeScript program (config()
// declarations) and a clang-built object (const volatile) loaded with different values behave
// differently, and a branch a value disables is pruned by the verifier (fewer translated instructions).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GlobalError } from "../../src/errors.js";
import { load, type Collection } from "../../src/index.js";
import { progInfo } from "../../src/sys/bpf.js";
import { compileAndRead, u32 } from "../helpers/loader.js";
import { loadCollection } from "../../src/runtime/collection.js";
import { privileged } from "../helpers/privileges.js";
import { REPO_ROOT } from "../helpers/toolchain.js";

const GATE = `${REPO_ROOT}/test/fixtures/ts/config/gate.bpf.ts`;
const XDP_PASS = 2, XDP_DROP = 1;

function packet(first: number, len = 64): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = first;
  return p;
}

function i64At(coll: Collection, map: string, index: number): bigint {
  const raw = coll.map(map).getRaw(u32(index));
  assert.ok(raw, `${map}[${index}] exists`);
  return new DataView(raw.buffer, raw.byteOffset).getBigInt64(0, true);
}

function xlated(coll: Collection, program: string): number {
  return progInfo(coll.program(program).fd).xlatedProgLen / 8;
}

describe("globals: configuration set before load", privileged(), () => {
  test("a TypeScript config() program loaded twice with different values", async () => {
    await using off = await load(GATE);
    await using on = await load(GATE, { globals: { dropByte: 0xab, mult: 3n } });
    for (const coll of [off, on]) {
      assert.equal(coll.program("gate").testRun({ data: packet(0xab) }).retval, coll === on ? XDP_DROP : XDP_PASS);
      assert.equal(coll.program("gate").testRun({ data: packet(0x01) }).retval, XDP_PASS);
    }
    assert.equal(i64At(off, "counts", 0), 128n);
    assert.equal(i64At(off, "counts", 1), 0n);
    assert.equal(i64At(off, "counts", 2), 1n);
    assert.equal(i64At(on, "counts", 0), 384n);
    assert.equal(i64At(on, "counts", 1), 1n);
    assert.equal(i64At(on, "counts", 2), 3n);
    // The values are the frozen .rodata's, readable (not writable) after load.
    assert.equal(on.variable("dropByte").get(), 0xab);
    assert.equal(off.variable("dropByte").get(), 0);
    // dropByte == 0: the verifier saw a constant and removed the dead filter branch.
    const offLen = xlated(off, "gate"), onLen = xlated(on, "gate");
    assert.ok(offLen < onLen, `pruned program ${offLen} insns < full program ${onLen} insns`);
  });

  test("bad values are refused before anything is created", async () => {
    await assert.rejects(load(GATE, { globals: { dropByte: 256 } }), (e: unknown) => e instanceof GlobalError && e.code === "GLOBAL_RANGE" && /dropByte/.test(e.message));
    await assert.rejects(load(GATE, { globals: { dropbyte: 1 } }), (e: unknown) => e instanceof GlobalError && e.code === "GLOBAL_UNKNOWN" && /dropByte, mult/.test(e.message));
    await assert.rejects(load(GATE, { globals: { counts: 1 } }), (e: unknown) => e instanceof GlobalError && e.code === "GLOBAL_NOT_VARIABLE");
  });

  test("a C object's const volatile variables through the same option", async () => {
    const { spec } = await compileAndRead("test/fixtures/c/config/config.bpf.c");
    using dflt = loadCollection(spec);
    using set = loadCollection(spec, { globals: { x: -7, mode: "MODE_FAST", on: true, shift: 3, name: "bash", limits: Uint8Array.of(1, 0, 0, 0, 9, 0, 0, 0), data_total: 11n } });
    for (const c of [dflt, set]) assert.equal(c.program("run").testRun({ data: packet(0) }).retval, XDP_PASS);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => i64At(dflt, "out", i)), [0n, 0n, 0n, -1n, BigInt("n".charCodeAt(0)), 2n, 7n]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => i64At(set, "out", i)), [-7n, 1n, 1n, 3n, BigInt("b".charCodeAt(0)), 9n, 11n]);
    assert.equal(set.variable("bss_seen").get(), 1);
    // the spec itself still holds the defaults, and x == 0 prunes the dead branch
    using again = loadCollection(spec);
    assert.equal(again.variable("x").get(), 0);
    assert.ok(xlated(dflt, "run") < xlated(set, "run"), `pruned ${xlated(dflt, "run")} < ${xlated(set, "run")}`);
  });
});
