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
import { randomLoopProgram } from "../helpers/codegen-loops.js";

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

/** Number of instructions of a kind in a function. */
function countOps(fn: IrFunction, op: string): number {
  return fn.blocks.reduce((n, b) => n + b.instructions.filter((i) => i.op === op).length, 0);
}

describe("optimizer: byte-swapped comparisons", () => {
  // bswap16(load.u16) ==/!= K for K at the boundaries, at both compare widths, must keep its result.
  const ks = [0n, 1n, 0x8n, 0x0800n, 0x00ffn, 0xff00n, 0xffffn, 0x10000n, 0x10800n, 0xffffffffn, 0x1_0000_0800n];
  const inputs = [0x0000, 0x0008, 0x0800, 0x00ff, 0xff00, 0xffff, 0x1234, 0x3412];
  for (const bits of [32, 64] as const) {
    for (const cond of ["eq", "ne"] as const) {
      test(`bswap16(x) ${cond} K at ${bits} bits: same outcome for every boundary K and input; the swap is gone`, () => {
        for (const k of ks) {
          const f = new FnBuilder("bs", 1);
          const b = f.block(), yes = f.block(), no = f.block();
          const x = b.load(2, f.params[0], 0);
          const y = b.bswap(x, 16);
          b.br(cond, bits, y, k, yes, no);
          yes.ret(1n);
          no.ret(2n);
          const fn = f.build();
          const o = optimize(fn);
          assert.equal(countOps(o, "bswap"), 0, formatIr(o));
          for (const v of inputs) {
            const ctx = new Uint8Array(8);
            new DataView(ctx.buffer).setUint16(0, v, true);
            assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value, `K=${k} x=${v}\n${formatIr(o)}`);
          }
        }
      });
    }
  }

  test("bswap32 under a 32-bit compare and bswap64 under a 64-bit compare fold; a swap with other uses stays", () => {
    for (const [width, bits] of [[32, 32], [32, 64], [64, 64]] as const) {
      const f = new FnBuilder("bs", 1);
      const b = f.block(), yes = f.block(), no = f.block();
      const x = b.load(width === 64 ? 8 : 4, f.params[0], 0);
      const y = b.bswap(x, width);
      b.br("eq", bits, y, 0x01020304n, yes, no);
      yes.ret(1n);
      no.ret(2n);
      const fn = f.build();
      const o = optimize(fn);
      assert.equal(countOps(o, "bswap"), 0, formatIr(o));
      for (const v of [0x04030201n, 0x01020304n, 0n, 0x0403020100000000n]) {
        const ctx = new Uint8Array(8);
        new DataView(ctx.buffer).setBigUint64(0, v, true);
        assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value, `${width}/${bits} x=${v}`);
      }
    }
    const f = new FnBuilder("keep", 1);
    const b = f.block(), yes = f.block(), no = f.block();
    const y = b.bswap(b.load(2, f.params[0], 0), 16);
    b.br("eq", 32, y, 0x800n, yes, no);
    yes.ret(y);
    no.ret(2n);
    assert.equal(countOps(optimize(f.build()), "bswap"), 1);
  });
});

describe("optimizer: known bits", () => {
  test("zero-extension of a narrow load and a mask it already satisfies are copies; a bound the bits decide folds", () => {
    const f = new FnBuilder("kb", 1);
    const b = f.block(), big = f.block(), small = f.block();
    const x = b.load(1, f.params[0], 0);
    const m = b.alu("and", 32, x, 0xfn);
    const s = b.alu("mul", 32, m, 4n);
    const t = b.alu("add", 32, s, 14n);
    const z = b.ext(t, 32, false);
    b.br("gt", 64, z, 0xffffn, big, small);
    big.ret(0n);
    small.ret(b.alu("and", 64, z, 0xffn));
    const o = optimize(f.build());
    assert.equal(o.blocks.length, 1, formatIr(o));
    assert.equal(countOps(o, "ext"), 0, formatIr(o));
    assert.ok(!o.blocks[0].instructions.some((i) => i.op === "alu" && i.alu === "and" && "imm" in i.b && i.b.imm === 0xffn), formatIr(o));
    for (let v = 0; v < 256; v += 17) {
      assert.equal(evalIr(o, { ctx: new Uint8Array([v, 0, 0, 0]) }).value, BigInt((v & 15) * 4 + 14));
    }
  });

  test("a sign extension of a sign-extended value is a copy; 32-bit compares skip extensions", () => {
    const f = new FnBuilder("sx", 1);
    const b = f.block(), yes = f.block(), no = f.block();
    const x = b.load(4, f.params[0], 0);
    const s1 = b.ext(x, 32, true);
    const s2 = b.ext(s1, 32, true);
    b.br("ne", 32, s1, 0n, yes, no);
    yes.ret(s2);
    no.ret(7n);
    const fn = f.build();
    const o = optimize(fn);
    assert.equal(countOps(o, "ext"), 1, formatIr(o));
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const ctx = new Uint8Array(4);
      new DataView(ctx.buffer).setUint32(0, v, true);
      assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value);
    }
  });
});

describe("optimizer: redundant loads", () => {
  test("context fields are read once across map lookups; not across a helper that may change the context", () => {
    const build = (helper: number) => {
      const f = new FnBuilder("ctx", 1);
      const b = f.block();
      const slot = f.slot(4, 4, "key");
      const a = b.load(4, f.params[0], 0);
      const k = b.stackAddr(slot);
      b.store(4, k, 0, 0n);
      b.call(helper, helper === 1 ? [b.mapFd("m"), k] : [f.params[0], 0n]);
      const a2 = b.load(4, f.params[0], 0);
      b.ret(b.alu("add", 64, a, a2));
      return f.build();
    };
    assert.equal(countOps(optimize(build(1)), "load"), 1, formatIr(optimize(build(1))));
    assert.equal(countOps(optimize(build(44)), "load"), 2, "bpf_xdp_adjust_head may move data");
  });

  test("a map value read again after an update of the same map sees the new value", () => {
    const f = new FnBuilder("mv", 1);
    const b = f.block(), found = f.block(), miss = f.block();
    const ks = f.slot(4, 4, "key"), vs = f.slot(8, 8, "value");
    const k = b.stackAddr(ks);
    b.store(4, k, 0, 0n);
    const m = b.mapFd("m");
    const p = b.call(1, [m, k])!;
    b.br("eq", 64, p, 0n, miss, found);
    miss.ret(0n);
    const before = found.load(8, p, 0);
    const v = found.stackAddr(vs);
    found.store(8, v, 0, found.alu("add", 64, before, 5n));
    found.call(2, [m, k, v, 0n]);
    const after = found.load(8, p, 0);
    found.ret(found.alu("sub", 64, after, before));
    const fn = f.build();
    const o = optimize(fn);
    const run = (g: IrFunction) => {
      const map = new EvalMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
      map.update(new Uint8Array(4), u64s([37n]));
      return evalIr(g, { maps: { m: map } }).value;
    };
    assert.equal(run(fn), 5n);
    assert.equal(run(o), 5n, formatIr(o));
  });

  test("a value stored to the stack and read back is forwarded; packet bytes survive map calls", () => {
    const f = new FnBuilder("fw", 1);
    const b = f.block();
    const slot = f.slot(8, 8, "tmp");
    const data = b.load(4, f.params[0], 0);
    const x = b.load(4, data, 0);
    const s = b.stackAddr(slot);
    b.store(4, s, 0, x);
    const y = b.load(4, s, 0);
    b.call(2, [b.mapFd("m"), s, s, 0n]);
    const x2 = b.load(4, data, 0);
    b.ret(b.alu("add", 64, y, x2));
    const o = optimize(f.build());
    // Loads left: ctx->data and one packet word.
    assert.equal(countOps(o, "load"), 2, formatIr(o));
  });
});

describe("optimizer: loop unrolling", () => {
  test("300 random loop programs (nested, break/continue, stack arrays): unrolled code computes the same", () => {
    let unrolled = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const fn = randomLoopProgram(seed);
      const o = optimize(fn);
      if (!hasLoop(o)) unrolled++;
      const rng = new Rng(seed * 7 + 3);
      for (let trial = 0; trial < 3; trial++) {
        const ctx = u64s(Array.from({ length: INPUTS }, () => rng.u64()));
        const want = run(fn, [], ctx);
        const got = run(o, [], ctx);
        const why = () => `seed ${seed}\n--- original\n${formatIr(fn)}\n--- optimized\n${formatIr(o)}`;
        assert.equal(got.value, want.value, `return value: ${why()}`);
        assert.deepEqual(got.out, want.out, `map output: ${why()}`);
      }
    }
    assert.ok(unrolled > 100, `most loops are unrolled completely (${unrolled} of 300 programs have no loop left)`);
  });

  test("a counted loop over an array becomes straight-line code with constant offsets", () => {
    const f = new FnBuilder("sum", 1);
    const b = f.block(), head = f.block(), body = f.block(), exit = f.block();
    const i = b.mov(0n);
    const acc = b.mov(0n);
    b.jmp(head);
    head.br("slt", 32, i, 8n, body, exit);
    const off = body.alu("mul", 64, body.ext(i, 32, false), 4n);
    const p = body.alu("add", 64, f.params[0], off);
    body.alu("add", 64, acc, body.load(4, p, 0), acc);
    body.alu("add", 32, i, 1n, i);
    body.jmp(head);
    exit.ret(acc);
    const fn = f.build();
    const o = optimize(fn);
    assert.equal(o.blocks.length, 1, formatIr(o));
    assert.deepEqual(o.blocks[0].instructions.filter((x) => x.op === "load").map((x) => (x as { offset: number }).offset), [0, 4, 8, 12, 16, 20, 24, 28]);
    const ctx = new Uint8Array(32).map((_, k) => k * 3);
    assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value);
  });

  test("loops over the trip budget, with unknown bounds, or with opts.unroll false stay loops", () => {
    const mk = (bound: bigint | "param") => {
      const f = new FnBuilder("l", 1);
      const b = f.block(), head = f.block(), body = f.block(), exit = f.block();
      const i = b.mov(0n);
      b.jmp(head);
      head.br("lt", 64, i, bound === "param" ? f.params[0] : bound, body, exit);
      body.alu("add", 64, i, 1n, i);
      body.jmp(head);
      exit.ret(i);
      return f.build();
    };
    assert.ok(hasLoop(optimize(mk(1000n))));
    assert.ok(hasLoop(optimize(mk("param"))));
    assert.ok(hasLoop(optimize(mk(4n), { unroll: false })));
    assert.ok(!hasLoop(optimize(mk(4n))));
    assert.equal(evalIr(optimize(mk(1000n)), { args: [0n] }).value, 1000n);
  });
});

/** Whether some block jumps backwards to a block that reaches it (a cycle). */
function hasLoop(fn: IrFunction): boolean {
  const succ = new Map(fn.blocks.map((b) => [b.id, b.terminator.op === "br" ? [b.terminator.then, b.terminator.else] : b.terminator.op === "jmp" ? [b.terminator.target] : []]));
  const state = new Map<number, number>();
  const visit = (id: number): boolean => {
    state.set(id, 1);
    for (const s of succ.get(id) ?? []) {
      if (state.get(s) === 1) return true;
      if (!state.has(s) && visit(s)) return true;
    }
    state.set(id, 2);
    return false;
  };
  return visit(fn.blocks[0].id);
}

describe("optimizer: code shape", () => {
  test("a 64-bit constant too wide for an immediate, used several times, is loaded once", () => {
    const f = new FnBuilder("wide", 1);
    const b = f.block();
    let x = b.load(8, f.params[0], 0);
    for (let i = 0; i < 4; i++) x = b.alu("mul", 64, b.alu("add", 64, x, 0x14057b7ef767814fn), 0x5851f42d4c957f2dn);
    b.ret(x);
    const fn = f.build();
    const o = optimize(fn);
    const wideImms = o.blocks.flatMap((bl) => bl.instructions).filter((i) => i.op === "alu" && "imm" in i.b && (i.b.imm > 0x7fffffffn || i.b.imm < -0x80000000n));
    assert.equal(wideImms.length, 0, formatIr(o));
    assert.equal(countOps(o, "mov"), 2, formatIr(o));
    const ctx = u64s([123456789n]);
    assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value);
  });

  test("a select (diamond of copies) leaves SSA as copies before the branch and one skipped side", () => {
    const f = new FnBuilder("sel", 2);
    const [x, y] = f.params;
    const b = f.block(), t = f.block(), e = f.block(), j = f.block();
    const r = f.vreg();
    b.br("gt", 32, x, y, t, e);
    t.mov(x, r);
    t.jmp(j);
    e.mov(y, r);
    e.jmp(j);
    j.ret(j.alu("add", 64, r, 1n));
    const fn = f.build();
    const o = optimize(fn);
    const entry = o.blocks[0];
    assert.equal(entry.terminator.op, "br", formatIr(o));
    assert.equal(entry.instructions.filter((i) => i.op === "mov").length, 1, formatIr(o));
    for (const [a, c] of [[1n, 2n], [5n, 2n], [0xffffffffn, 1n], [7n, 7n]]) {
      assert.equal(evalIr(o, { args: [a, c] }).value, evalIr(fn, { args: [a, c] }).value);
    }
  });

  test("a load is not reused across a long stretch of code (it is read again instead of kept in a register)", () => {
    const f = new FnBuilder("far", 1);
    const b = f.block();
    const first = b.load(4, f.params[0], 0);
    let acc = b.mov(first);
    for (let i = 0; i < 60; i++) acc = b.alu(i % 2 ? "xor" : "mul", 32, acc, BigInt(0x1234567 + i));
    const again = b.load(4, f.params[0], 0);
    b.ret(b.alu("add", 64, acc, again));
    assert.equal(countOps(optimize(f.build()), "load"), 2);
  });
});

describe("optimizer: packet pointers", () => {
  const packet = (nonNull: boolean) => {
    const f = new FnBuilder("pkt", 1);
    const b = f.block(), ok = f.block(), nul = f.block(), use = f.block(), bad = f.block();
    const data = f.vreg();
    b.instructions.push({ op: "load", size: 4, dst: data, base: f.params[0], offset: 0, ...(nonNull ? { nonNull: true } : {}) });
    const end = b.load(4, f.params[0], 4);
    const ihl = b.alu("lsh", 32, b.alu("and", 32, b.load(1, data, 0), 15n), 2n);
    const l4 = b.alu("add", 64, data, b.alu("add", 32, ihl, 14n));
    b.br("gt", 64, b.alu("add", 64, l4, 4n), end, bad, ok);
    bad.ret(1n);
    ok.br("eq", 64, l4, 0n, nul, use);
    nul.ret(2n);
    use.ret(use.load(2, l4, 2));
    return f.build();
  };

  test("a null test of a nonNull packet start plus a small offset is dropped; without the promise it stays", () => {
    const withPromise = optimize(packet(true));
    const without = optimize(packet(false));
    const brs = (fn: IrFunction) => fn.blocks.filter((b) => b.terminator.op === "br").length;
    assert.equal(brs(withPromise), 1, formatIr(withPromise));
    assert.equal(brs(without), 2, formatIr(without));
  });

  test("a variable header length plus a constant reassociates: the constant folds into the bound and the load offset", () => {
    const o = optimize(packet(true));
    const text = formatIr(o);
    assert.ok(o.blocks.some((b) => b.instructions.some((i) => i.op === "load" && i.size === 2 && i.offset === 16)), text);
    assert.ok(o.blocks.some((b) => b.instructions.some((i) => i.op === "alu" && i.alu === "add" && "imm" in i.b && i.b.imm === 18n)), text);
    // Same results as the original on packets of every header length and size. The interpreter maps
    // the first global section at 0x10000: the packet lives there, the context holds data/data_end.
    const fn = packet(true);
    for (const vihl of [0x40, 0x45, 0x4f, 0x41]) {
      for (const len of [20, 40, 64, 80]) {
        const mem = new Uint8Array(len).map((_, i) => (i * 37) & 0xff);
        mem[0] = vihl;
        const run = (g: IrFunction) => {
          const ctx = new Uint8Array(8);
          new DataView(ctx.buffer).setUint32(0, 0x10000, true);
          new DataView(ctx.buffer).setUint32(4, 0x10000 + len, true);
          return evalIr(g, { ctx, globals: { pkt: mem } }).value;
        };
        assert.equal(run(o), run(fn), `vihl ${vihl} len ${len}`);
      }
    }
  });
});

describe("optimizer: algebraic identities", () => {
  test("x+0, 0+x, x*1, x|0, x&~0, x<<0 are copies; a constant operand of a commutative op goes right", () => {
    const f = new FnBuilder("id", 1);
    const b = f.block();
    const x = b.load(8, f.params[0], 0);
    let v = b.alu("add", 64, 0n, x);
    v = b.alu("mul", 64, v, 1n);
    v = b.alu("or", 64, 0n, v);
    v = b.alu("and", 64, v, -1n);
    v = b.alu("lsh", 64, v, 0n);
    const w = b.alu("add", 64, 5n, v);
    b.ret(w);
    const o = optimize(f.build());
    assert.equal(countOps(o, "alu"), 1, formatIr(o));
    const add = o.blocks[0].instructions.find((i) => i.op === "alu")!;
    assert.ok(add.op === "alu" && "reg" in add.a && "imm" in add.b, formatIr(o));
  });

  test("a 32-bit identity on a value that may have upper bits keeps the truncation", () => {
    const f = new FnBuilder("id32", 1);
    const b = f.block();
    const x = b.load(8, f.params[0], 0);
    b.ret(b.alu("add", 32, x, 0n));
    const fn = f.build();
    const o = optimize(fn);
    const ctx = u64s([0x1234567890n]);
    assert.equal(evalIr(o, { ctx: ctx.slice() }).value, 0x34567890n);
  });
});

describe("optimizer: dead stack stores", () => {
  const build = (readBetween: boolean, coverPadding: boolean) => {
    const f = new FnBuilder("dse", 1);
    const b = f.block();
    const key = f.slot(16, 8, "key");
    const k = b.stackAddr(key);
    b.store(8, k, 0, 0n);
    b.store(8, k, 8, 0n);
    if (readBetween) b.call(1, [b.mapFd("m"), k]);
    b.store(4, k, 0, b.load(4, f.params[0], 0));
    b.store(4, k, 4, b.load(4, f.params[0], 4));
    b.store(2, k, 8, b.load(2, f.params[0], 8));
    if (coverPadding) {
      b.store(2, k, 10, 0n);
      b.store(4, k, 12, 0n);
    }
    const r = b.call(1, [b.mapFd("m"), k])!;
    b.ret(r);
    return f.build();
  };
  const stores = (fn: IrFunction) => fn.blocks.flatMap((b) => b.instructions).filter((i) => i.op === "store").map((i) => (i as { offset: number; size: number }).offset + "/" + (i as { size: number }).size);

  test("a zero-fill whose bytes are all assigned before the key is read goes; one that also zeroes padding stays", () => {
    assert.deepEqual(stores(optimize(build(false, false))), ["8/8", "0/4", "4/4", "8/2"]);
    assert.deepEqual(stores(optimize(build(false, true))), ["0/4", "4/4", "8/2", "10/2", "12/4"]);
  });

  test("a store read by a helper in between stays; stores right before a return go", () => {
    assert.deepEqual(stores(optimize(build(true, true))), ["0/8", "8/8", "0/4", "4/4", "8/2", "10/2", "12/4"]);
    const f = new FnBuilder("tail", 1);
    const b = f.block();
    const s = f.slot(8, 8, "tmp");
    b.store(8, b.stackAddr(s), 0, f.params[0]);
    b.ret(1n);
    assert.deepEqual(stores(optimize(f.build())), []);
  });
});

describe("optimizer: division", () => {
  test("a % b after a / b reuses the quotient (one division), with eBPF's zero and overflow rules", () => {
    for (const [div, mod] of [["div", "mod"], ["sdiv", "smod"]] as const) {
      for (const bits of [32, 64] as const) {
        const f = new FnBuilder("dm", 1);
        const b = f.block();
        const x = b.load(8, f.params[0], 0);
        const y = b.load(8, f.params[0], 8);
        const q = b.alu(div, bits, x, y);
        const r = b.alu(mod, bits, x, y);
        b.ret(b.alu("xor", 64, b.alu("lsh", 64, q, 1n), r));
        const fn = f.build();
        const o = optimize(fn);
        const divs = o.blocks.flatMap((bl) => bl.instructions).filter((i) => i.op === "alu" && (i.alu === "div" || i.alu === "sdiv" || i.alu === "mod" || i.alu === "smod"));
        assert.equal(divs.length, 1, formatIr(o));
        const M = (1n << BigInt(bits)) - 1n, MIN = 1n << BigInt(bits - 1);
        for (const [a, c] of [[7n, 2n], [7n, 0n], [0n, 0n], [MIN, M], [M, 3n], [M - 6n, 2n], [100n, M - 6n], [0x1234567890abcdefn, 0x1234n]]) {
          const ctx = u64s([a, c]);
          assert.equal(evalIr(o, { ctx: ctx.slice() }).value, evalIr(fn, { ctx: ctx.slice() }).value, `${div}${bits} ${a} ${c}`);
        }
      }
    }
  });
});

describe("optimizer: only verifier-visible facts remove checks", () => {
  test("a bound on a byte-swapped value (a packet offset from ntohs) stays: older verifiers know nothing of it", () => {
    const f = new FnBuilder("swapbound", 1);
    const b = f.block(), big = f.block(), ok = f.block();
    const len = b.ext(b.bswap(b.load(2, f.params[0], 0), 16), 32, false);
    b.br("gt", 64, len, 0xffffn, big, ok);
    big.ret(0n);
    ok.ret(len);
    const o = optimize(f.build());
    assert.ok(o.blocks.some((bl) => bl.terminator.op === "br"), formatIr(o));
  });

  test("a bound after a division by a constant stays; one after a mask goes", () => {
    const mk = (op: "div" | "and") => {
      const f = new FnBuilder("bound", 1);
      const b = f.block(), big = f.block(), ok = f.block();
      const v = b.alu(op, 64, b.load(1, f.params[0], 0), op === "div" ? 3n : 0x3fn);
      b.br("gt", 64, v, 0xffn, big, ok);
      big.ret(0n);
      ok.ret(v);
      return optimize(f.build());
    };
    assert.ok(mk("div").blocks.some((bl) => bl.terminator.op === "br"));
    assert.ok(!mk("and").blocks.some((bl) => bl.terminator.op === "br"));
  });
});

describe("optimizer: memory through loop-carried pointers", () => {
  test("a store through a pointer stepping over a stack array (phi of addresses) is seen by later loads", () => {
    const f = new FnBuilder("walk", 1);
    const b = f.block(), head = f.block(), body = f.block(), exit = f.block();
    const arr = f.slot(32, 8, "arr");
    const base = b.stackAddr(arr);
    for (let k = 0; k < 4; k++) b.store(8, base, 8 * k, 1n);
    const first = b.load(8, base, 0);
    const p = b.mov(base);
    const i = b.mov(0n);
    b.jmp(head);
    head.br("lt", 64, i, f.params[0], body, exit);
    body.store(8, p, 0, body.alu("add", 64, i, 7n));
    body.alu("add", 64, p, 8n, p);
    body.alu("add", 64, i, 1n, i);
    body.jmp(head);
    exit.ret(exit.alu("add", 64, exit.alu("mul", 64, first, 1000n), exit.load(8, base, 0)));
    const fn = f.build();
    for (const unroll of [true, false]) {
      const o = optimize(fn, { unroll });
      for (const n of [0n, 1n, 3n]) assert.equal(evalIr(o, { args: [n] }).value, evalIr(fn, { args: [n] }).value, `n=${n} unroll=${unroll}\n${formatIr(o)}`);
    }
  });
});
