// IR optimizer tests: optimized random programs agree with the originals on the IR interpreter, SSA
// round trips, and the shape of what each pass removes (constants, copies, dead code, threaded jumps).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatIr } from "../../src/compiler/codegen/index.js";
import { EvalMap, evalIr } from "../../src/compiler/ir-eval.js";
import type { IrFunction } from "../../src/compiler/ir.js";
import { optimize } from "../../src/compiler/opt/index.js";
import { fromSsa, sequentialize, toSsa } from "../../src/compiler/opt/ssa.js";
import { FnBuilder } from "../helpers/codegen-ir.js";
import { INPUTS, OUTPUTS, OUT_MAP, Rng, randomProgram } from "../helpers/codegen-random.js";

const KEY0 = new Uint8Array(4);

function u64s(values: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  return b;
}

/** Runs `entry` (with `subs`) on a context of u64 inputs; returns r0 and the output map value. */
function run(entry: IrFunction, subs: IrFunction[], ctx: Uint8Array): { value: bigint; out: number[] } {
  const map = new EvalMap({ type: "array", keySize: 4, valueSize: OUTPUTS * 8, maxEntries: 1 });
  const r = evalIr(entry, { functions: subs, ctx: ctx.slice(), maps: { [OUT_MAP]: map } });
  return { value: r.value, out: [...map.lookup(KEY0)!] };
}

/** Instructions plus terminators of a function. */
function size(fn: IrFunction): number {
  return fn.blocks.reduce((n, b) => n + b.instructions.length + 1, 0);
}

describe("optimizer: random programs keep their meaning", () => {
  test("300 random programs, 4 inputs each: same return value and map output", () => {
    let before = 0, after = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const p = randomProgram(seed);
      const subs = p.sub ? [p.sub] : [];
      const oe = optimize(p.entry);
      const os = subs.map((s) => optimize(s));
      before += size(p.entry);
      after += size(oe);
      const rng = new Rng(seed * 13 + 5);
      for (let trial = 0; trial < 4; trial++) {
        const ctx = u64s(Array.from({ length: INPUTS }, () => rng.u64()));
        const want = run(p.entry, subs, ctx);
        const got = run(oe, os, ctx);
        const why = () => `seed ${seed}\n--- original\n${formatIr(p.entry)}${subs.map(formatIr).join("")}\n--- optimized\n${formatIr(oe)}${os.map(formatIr).join("")}`;
        assert.equal(got.value, want.value, `return value: ${why()}`);
        assert.deepEqual(got.out, want.out, `map output: ${why()}`);
      }
    }
    assert.ok(after < before, `the optimizer shrinks random programs (${before} -> ${after})`);
  });

  test("SSA round trip without optimization keeps the meaning", () => {
    for (let seed = 500; seed < 560; seed++) {
      const p = randomProgram(seed);
      const subs = p.sub ? [p.sub] : [];
      const rt = fromSsa(toSsa(p.entry));
      const ctx = u64s(Array.from({ length: INPUTS }, (_, i) => BigInt(seed * 31 + i)));
      assert.deepEqual(run(rt, subs, ctx), run(p.entry, subs, ctx), `seed ${seed}`);
    }
  });
});

describe("optimizer: SSA", () => {
  test("parallel copies: a swap needs one temporary, chains are ordered", () => {
    let next = 100;
    const swap = sequentialize([{ dst: 1, src: { reg: 2 } }, { dst: 2, src: { reg: 1 } }], () => next++);
    assert.equal(swap.length, 3);
    const regs = new Map<number, bigint>([[1, 10n], [2, 20n]]);
    for (const m of swap) if (m.op === "mov") regs.set(m.dst, "reg" in m.src ? regs.get(m.src.reg)! : m.src.imm);
    assert.equal(regs.get(1), 20n);
    assert.equal(regs.get(2), 10n);
    const chain = sequentialize([{ dst: 1, src: { reg: 2 } }, { dst: 2, src: { reg: 3 } }, { dst: 3, src: { imm: 7n } }], () => next++);
    assert.equal(chain.length, 3);
  });

  test("a loop variable gets a phi at the header; leaving SSA gives back a working loop", () => {
    const f = new FnBuilder("loop", 1);
    const entry = f.block(), head = f.block(), body = f.block(), exit = f.block();
    const i = entry.mov(0n);
    const acc = entry.mov(0n);
    entry.jmp(head);
    head.br("lt", 64, i, f.params[0], body, exit);
    body.alu("add", 64, acc, i, acc);
    body.alu("add", 64, i, 1n, i);
    body.jmp(head);
    exit.ret(acc);
    const fn = f.build();
    const s = toSsa(fn);
    const h = s.blocks.find((b) => b.id === head.id)!;
    assert.equal(h.phis.length, 2);
    const back = fromSsa(s);
    assert.equal(evalIr(back, { args: [10n] }).value, 45n);
  });
});

describe("optimizer: passes", () => {
  test("constants fold through arithmetic, ext and bswap, and decide branches", () => {
    const f = new FnBuilder("fold", 1);
    const b = f.block(), yes = f.block(), no = f.block();
    const x = b.mov(0x1234n);
    const y = b.bswap(x, 16);
    const z = b.alu("add", 32, y, 1n);
    b.br("eq", 32, z, 0x3413n, yes, no);
    yes.ret(1n);
    no.ret(2n);
    const o = optimize(f.build());
    assert.equal(o.blocks.length, 1, formatIr(o));
    assert.deepEqual(o.blocks[0].terminator, { op: "ret", value: { imm: 1n } });
  });

  test("a null test of a value just set to 0 jumps straight to its target", () => {
    const f = new FnBuilder("thread", 2);
    const [p, end] = f.params;
    const b0 = f.block(), join = f.block(), ok = f.block(), bad = f.block(), isNull = f.block(), use = f.block();
    const lim = b0.alu("add", 64, p, 14n);
    b0.br("gt", 64, lim, end, bad, ok);
    const out = f.vreg();
    ok.mov(p, out);
    ok.jmp(join);
    bad.mov(0n, out);
    bad.jmp(join);
    join.br("eq", 64, out, 0n, isNull, use);
    isNull.ret(1n);
    use.ret(use.load(1, out, 0));
    const o = optimize(f.build());
    const text = formatIr(o);
    // The failing bounds check goes to the `ret 1` block without testing the pointer again.
    const entry = o.blocks[0];
    assert.equal(entry.terminator.op, "br", text);
    const t = entry.terminator as Extract<IrFunction["blocks"][0]["terminator"], { op: "br" }>;
    const then = o.blocks.find((x) => x.id === t.then)!;
    assert.deepEqual(then.terminator, { op: "ret", value: { imm: 1n } }, text);
  });

  test("copies and dead code disappear", () => {
    const f = new FnBuilder("copies", 1);
    const b = f.block();
    const a = b.mov(f.params[0]);
    const c = b.mov(a);
    b.alu("mul", 64, c, 3n); // dead
    b.ret(b.alu("add", 64, c, 1n));
    const o = optimize(f.build());
    assert.equal(size(o), 2, formatIr(o));
  });
});
