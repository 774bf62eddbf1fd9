// IR interpreter unit tests: eBPF arithmetic semantics (division by zero, signed division edges,
// shift amounts modulo width, widths), memory model bounds, maps, calls, step limit, formatIr.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EvalMap, IrEvalError, evalAlu, evalBswap, evalCond, evalExt, evalIr } from "../../src/compiler/ir-eval.js";
import { formatIr } from "../../src/compiler/codegen/index.js";
import { FnBuilder } from "../helpers/codegen-ir.js";

const M64 = 2n ** 64n - 1n;

describe("ir-eval: ALU semantics", () => {
  test("division and modulo by zero", () => {
    assert.equal(evalAlu("div", 64, 5n, 0n), 0n);
    assert.equal(evalAlu("mod", 64, 5n, 0n), 5n);
    assert.equal(evalAlu("mod", 32, 0x1_0000_0005n, 0n), 5n);
    assert.equal(evalAlu("sdiv", 64, -5n, 0n), 0n);
    assert.equal(evalAlu("smod", 64, -5n, 0n), M64 - 4n);
  });
  test("signed division truncates; INT_MIN / -1 wraps", () => {
    assert.equal(evalAlu("sdiv", 64, -7n, 2n), M64 - 2n);
    assert.equal(evalAlu("smod", 64, -7n, 2n), M64);
    assert.equal(evalAlu("sdiv", 64, -(2n ** 63n), -1n), 2n ** 63n);
    assert.equal(evalAlu("sdiv", 32, 0x80000000n, 0xffffffffn), 0x80000000n);
    assert.equal(evalAlu("smod", 32, 0x80000000n, 0xffffffffn), 0n);
  });
  test("shifts take the amount modulo the width; 32-bit results zero-extend", () => {
    assert.equal(evalAlu("lsh", 64, 1n, 65n), 2n);
    assert.equal(evalAlu("lsh", 32, 1n, 33n), 2n);
    assert.equal(evalAlu("arsh", 32, 0x80000000n, 4n), 0xf8000000n);
    assert.equal(evalAlu("add", 32, 0xffffffffn, 1n), 0n);
    assert.equal(evalAlu("sub", 64, 0n, 1n), M64);
  });
  test("conditions, ext and bswap", () => {
    assert.equal(evalCond("slt", 32, 0xffffffffn, 0n), true);
    assert.equal(evalCond("lt", 32, 0xffffffffn, 0n), false);
    assert.equal(evalCond("set", 64, 6n, 2n), true);
    assert.equal(evalCond("sge", 64, M64, 0n), false);
    assert.equal(evalExt(8, true, 0x80n), M64 - 0x7fn);
    assert.equal(evalExt(16, false, 0x12345n), 0x2345n);
    assert.equal(evalBswap(16, 0x1234n), 0x3412n);
    assert.equal(evalBswap(32, 0xaabb_1122_3344n), 0x44332211n);
  });
});

describe("ir-eval: programs", () => {
  test("context, stack, map lookup/update and subprogram calls", () => {
    const sub = new FnBuilder("twice", 1);
    const sb = sub.block();
    sb.ret(sb.alu("mul", 64, sub.params[0], 2n));
    const f = new FnBuilder("prog", 1);
    const b0 = f.block();
    const miss = f.block();
    const hit = f.block();
    const key = f.slot(4, 4);
    const k = b0.stackAddr(key);
    b0.store(4, k, 0, 0n);
    const v = b0.call(1, [b0.mapFd("m"), k])!;
    b0.br("eq", 64, v, 0n, miss, hit);
    miss.ret(99n);
    const x = hit.load(4, f.params[0], 4);
    const y = hit.callFn("twice", [x]);
    hit.atomic("add", 8, v, 0, y);
    hit.ret(y);
    const m = new EvalMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
    const ctx = new Uint8Array([0, 0, 0, 0, 21, 0, 0, 0]);
    const fn = f.build();
    const r = evalIr(fn, { ctx, maps: { m }, functions: [sub.build()] });
    assert.equal(r.value, 42n);
    evalIr(fn, { ctx, maps: { m }, functions: [sub.build()] });
    assert.deepEqual([...m.lookup(new Uint8Array(4))!], [84, 0, 0, 0, 0, 0, 0, 0]);
    assert.match(formatIr(fn), /v\d+ = call #1\(v\d+, v\d+\)\n  br\.64 v\d+ eq 0 \? b1 : b2/);
  });
  test("out-of-bounds access, undefined registers and endless loops are typed errors", () => {
    const f = new FnBuilder("oob", 1);
    const b = f.block();
    b.ret(b.load(8, f.params[0], 4));
    assert.throws(() => evalIr(f.build(), { ctx: new Uint8Array(8) }), (e: unknown) => e instanceof IrEvalError && e.code === "EVAL_BAD_ACCESS");
    const g = new FnBuilder("undef", 0);
    g.block().ret(g.vreg());
    assert.throws(() => evalIr(g.build()), (e: unknown) => e instanceof IrEvalError && e.code === "EVAL_UNDEFINED_VREG");
    const h = new FnBuilder("spin", 0);
    const hb = h.block();
    hb.jmp(hb);
    assert.throws(() => evalIr(h.build(), { maxSteps: 1000 }), (e: unknown) => e instanceof IrEvalError && e.code === "EVAL_STEP_LIMIT");
  });
  test("hash maps report EEXIST/ENOENT like the helpers", () => {
    const m = new EvalMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 });
    const k = new Uint8Array([1, 0, 0, 0]);
    assert.equal(m.update(k, new Uint8Array(4), 2n), -2n);
    assert.equal(m.update(k, new Uint8Array([5, 0, 0, 0])), 0n);
    assert.equal(m.update(k, new Uint8Array(4), 1n), -17n);
    assert.equal(m.update(new Uint8Array([2, 0, 0, 0]), new Uint8Array(4)), -7n);
    assert.equal(m.delete(k), 0n);
    assert.equal(m.delete(k), -2n);
  });
});
