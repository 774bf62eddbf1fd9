// Code generator unit tests: hand-built IR -> expected eBPF shape (immediates, widths, ext lowering,
// branch fall-through, symbolic references, CO-RE indices, source locations, typed errors).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generate, CodegenError } from "../../src/compiler/codegen/index.js";
import type { CoreAccess } from "../../src/compiler/module.js";
import { PSEUDO_CALL, PSEUDO_FUNC, PSEUDO_KFUNC_CALL, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from "../../src/asm/opcode.js";
import { FnBuilder } from "../helpers/codegen-ir.js";

/** Disassembly without the opcode column, e.g. `r0 = 42` (instruction selection only: no IR optimizer). */
function asm(fn: ReturnType<FnBuilder["build"]>, cpu: "v3" | "v4" = "v3"): string[] {
  return generate(fn, { cpu, optimize: false }).instructions.map((i) => i.toString().replace(/^\([0-9a-f]{2}\) /, ""));
}

describe("codegen: instruction selection", () => {
  test("return constant and parameter", () => {
    const f = new FnBuilder("f", 1);
    f.block().ret(42n);
    assert.deepEqual(asm(f.build()), ["r0 = 42", "exit"]);
    const g = new FnBuilder("g", 2);
    g.block().ret(g.params[1]);
    assert.deepEqual(asm(g.build()), ["r0 = r2", "exit"]);
  });

  test("three-address ALU becomes two-address without extra moves when the operand dies", () => {
    const f = new FnBuilder("f", 2);
    const b = f.block();
    const x = b.alu("add", 64, f.params[0], f.params[1]);
    const y = b.alu("mul", 32, x, 3n);
    b.ret(y);
    assert.deepEqual(asm(f.build()), ["r0 = r1", "r0 += r2", "w0 *= 3", "exit"]);
  });

  test("immediates: 64-bit values beyond s32 go through ld_imm64; u32 fits mov32; and 0xffffffff is a 32-bit move", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const x = b.alu("add", 64, f.params[0], 0x123456789n);
    const y = b.alu("and", 64, x, 0xffffffffn);
    const z = b.alu("or", 64, y, 0xfffffff0n);
    b.ret(z);
    const out = asm(f.build());
    assert.ok(out.includes("r2 = 0x123456789") || out.some((l) => /^r\d = 0x123456789$/.test(l)), out.join("\n"));
    assert.ok(out.some((l) => /^w\d = w\d$/.test(l)), out.join("\n"));
    assert.ok(out.some((l) => /^w\d = -16$/.test(l)) || out.some((l) => /= 0xfffffff0$/.test(l)), out.join("\n"));
  });

  test("32-bit immediates wrap, shifts are taken modulo the width, div/mod by zero follow eBPF", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const p = f.params[0];
    const a = b.alu("and", 32, p, 0xfffffff0n);
    const s = b.alu("lsh", 64, a, 70n);
    const d = b.alu("div", 64, s, 0n);
    const m = b.alu("mod", 32, p, 0n);
    const r = b.alu("add", 64, d, m);
    b.ret(r);
    const out = asm(f.build());
    assert.ok(!out.some((l) => l.includes("<<=")), "shift result is dead after div by 0: " + out.join("\n"));
    assert.ok(!out.some((l) => l.includes("/=")), "division by constant zero folds to 0");
    assert.ok(out.some((l) => /^w\d = w1$/.test(l)), "mod32 by 0 leaves the zero-extended dividend: " + out.join("\n"));
  });

  test("shift by an immediate of the width or more is masked", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    b.ret(b.alu("rsh", 32, f.params[0], 33n));
    assert.deepEqual(asm(f.build()), ["r0 = r1", "w0 >>= 1", "exit"]);
  });

  test("ext: v4 uses movsx, v3 shifts; zero-extension from 32 is mov32", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    b.ret(b.ext(f.params[0], 8, true));
    assert.deepEqual(asm(f.build(), "v4"), ["r0 = (s8)r1", "exit"]);
    assert.deepEqual(asm(f.build(), "v3"), ["r0 = r1", "r0 <<= 56", "r0 s>>= 56", "exit"]);
    const g = new FnBuilder("g", 1);
    const c = g.block();
    c.ret(c.ext(g.params[0], 32, false));
    assert.deepEqual(asm(g.build()), ["w0 = w1", "exit"]);
    const h = new FnBuilder("h", 1);
    const d = h.block();
    d.ret(d.ext(h.params[0], 16, false));
    assert.deepEqual(asm(h.build()), ["r0 = r1", "r0 &= 65535", "exit"]);
  });

  test("signed loads: ldsx on v4, load + shifts on v3", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    b.ret(b.load(2, f.params[0], 6, true));
    assert.deepEqual(asm(f.build(), "v4"), ["r0 = *(s16 *)(r1 +6)", "exit"]);
    assert.deepEqual(asm(f.build(), "v3"), ["r0 = *(u16 *)(r1 +6)", "r0 <<= 48", "r0 s>>= 48", "exit"]);
  });

  test("sdiv: v4 native, v3 branch-free emulation", () => {
    const f = new FnBuilder("f", 2);
    const b = f.block();
    b.ret(b.alu("sdiv", 64, f.params[0], f.params[1]));
    assert.deepEqual(asm(f.build(), "v4"), ["r0 = r1", "r0 s/= r2", "exit"]);
    const v3 = asm(f.build(), "v3");
    assert.ok(v3.some((l) => l.includes(" /= ")) && !v3.some((l) => l.includes("s/=")), v3.join("\n"));
  });

  test("memory offsets stay in the instruction; stack addresses used as bases become r10 accesses", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const slot = f.slot(16, 8, "buf");
    const p = b.stackAddr(slot, 8);
    b.store(8, p, 0, f.params[0]);
    const x = b.load(4, f.params[0], 12);
    b.store(4, p, 4, x);
    b.ret(b.load(8, p, 0));
    assert.deepEqual(asm(f.build()), [
      "*(u64 *)(r10 -8) = r1",
      "r1 = *(u32 *)(r1 +12)",
      "*(u32 *)(r10 -4) = r1",
      "r0 = *(u64 *)(r10 -8)",
      "exit",
    ]);
  });

  test("constants stored to the stack use ST; constant register values stored elsewhere stay registers", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const slot = f.slot(8, 8);
    const c = b.mov(7n);
    b.store(8, b.stackAddr(slot), 0, c);
    b.store(4, f.params[0], 0, c);
    b.ret(0n);
    assert.deepEqual(asm(f.build()), ["r2 = 7", "*(u64 *)(r10 -8) = 7", "*(u32 *)(r1 +0) = r2", "r0 = 0", "exit"]);
  });
});

describe("codegen: calls and references", () => {
  test("map lookup: key address and map re-materialized in argument registers, null check falls through", () => {
    const f = new FnBuilder("f", 1);
    const b0 = f.block();
    const miss = f.block();
    const hit = f.block();
    const key = f.slot(4, 4, "key");
    const k = b0.stackAddr(key);
    b0.store(4, k, 0, 0n);
    const v = b0.call(1, [b0.mapFd("counts"), k])!;
    b0.br("eq", 64, v, 0n, miss, hit);
    miss.ret(0n);
    const x = hit.alu("add", 64, hit.load(8, v, 0), hit.load(4, f.params[0], 4));
    hit.store(8, v, 0, x);
    hit.ret(1n);
    const g = generate(f.build());
    const out = g.instructions.map((i) => i.toString().replace(/^\([0-9a-f]{2}\) /, ""));
    assert.deepEqual(out, [
      "r6 = r1",
      "*(u32 *)(r10 -4) = 0",
      "r1 = 0x0",
      "r2 = r10",
      "r2 += -4",
      "call bpf_map_lookup_elem#1",
      "if r0 == 0x0 goto pc+6",
      "r1 = *(u64 *)(r0 +0)",
      "r2 = *(u32 *)(r6 +4)",
      "r1 += r2",
      "*(u64 *)(r0 +0) = r1",
      "r0 = 1",
      "exit",
      "r0 = 0",
      "exit",
    ]);
    const ld = g.instructions[2];
    assert.equal(ld.src, PSEUDO_MAP_FD);
    assert.equal(ld.reference, "counts");
    assert.equal(g.stackSize, 8);
  });

  test("globals, subprogram calls, callbacks and kfuncs are symbolic", () => {
    const f = new FnBuilder("f", 0);
    const b = f.block();
    const g = b.mapValue(".bss", 24);
    const x = b.load(8, g, 0);
    const r = b.callFn("helper_fn", [x]);
    const cb = b.funcAddr("cb");
    b.call(181, [4n, cb, 0n, 0n], false);
    b.instructions.push({ op: "callKfunc", kfunc: "bpf_rcu_read_lock", args: [] });
    b.ret(r);
    const insns = generate(f.build()).instructions;
    const mv = insns.find((i) => i.isLoadImm64 && i.src === PSEUDO_MAP_VALUE)!;
    assert.equal(mv.reference, ".bss");
    assert.equal(mv.constant, 24n);
    const c = insns.find((i) => i.isCall && i.src === PSEUDO_CALL)!;
    assert.equal(c.reference, "helper_fn");
    const fa = insns.find((i) => i.isLoadImm64 && i.src === PSEUDO_FUNC)!;
    assert.equal(fa.reference, "cb");
    assert.equal(fa.dst, 2);
    const k = insns.find((i) => i.isCall && i.src === PSEUDO_KFUNC_CALL)!;
    assert.equal(k.reference, "bpf_rcu_read_lock");
  });

  test("values live across calls sit in r6-r9; call results go where they are needed", () => {
    const f = new FnBuilder("f", 2);
    const b = f.block();
    const t = b.call(5, [])!;
    const s = b.alu("add", 64, f.params[0], f.params[1]);
    const u = b.call(7, [])!;
    const r = b.alu("add", 64, b.alu("add", 64, s, t), u);
    b.ret(r);
    const out = asm(f.build());
    // p0/p1 cross the first call, s and t cross the second: callee-saved registers, no spills.
    assert.ok(!out.some((l) => l.includes("r10")), out.join("\n"));
    const beforeSecond = out.slice(out.indexOf("call bpf_ktime_get_ns#5") + 1, out.indexOf("call bpf_get_prandom_u32#7"));
    for (const l of beforeSecond) assert.match(l, /^r[6-9] /, out.join("\n"));
  });

  test("CO-RE relocation indices count ld_imm64 as one entry; sources are carried", () => {
    const root = { kind: "struct", name: "task_struct", size: 64, members: [] } as const;
    const access: CoreAccess = { kind: "field_byte_offset", root, access: "0:1" };
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const m = b.mapFd("m");
    b.call(2, [m, f.params[0], f.params[0], 0n], false);
    b.instructions.push({ op: "load", size: 4, dst: f.vreg(), base: f.params[0], offset: 16, core: access, loc: { file: "x.bpf.ts", line: 7, column: 3 } });
    const last = b.instructions[b.instructions.length - 1] as { dst: number };
    b.ret(last.dst);
    const g = generate(f.build());
    assert.equal(g.coreRelocations.length, 1);
    const idx = g.coreRelocations[0].index;
    assert.equal(g.instructions[idx].toString().includes("+16)"), true);
    assert.equal(g.coreRelocations[0].access, access);
    assert.deepEqual(g.instructions[idx].source, { file: "x.bpf.ts", line: 7, column: 3 });
  });
});

describe("codegen: branches and layout", () => {
  test("32-bit compares use jmp32, wide immediates a register; a then-block continuing to the else-block falls through (inverted condition)", () => {
    const f = new FnBuilder("f", 1);
    const b0 = f.block();
    const b1 = f.block();
    const b2 = f.block();
    const b3 = f.block();
    b0.br("gt", 32, f.params[0], 5n, b1, b2);
    b1.br("eq", 64, f.params[0], 0x80000000n, b3, b2);
    b2.ret(1n);
    b3.ret(2n);
    const g = generate(f.build(), { optimize: false });
    const out = g.instructions.map((i) => i.toString().replace(/^\([0-9a-f]{2}\) /, ""));
    assert.match(out[0], /^if w1 <= 0x5 goto pc\+\d+$/);
    assert.equal(g.instructions[0].class, 0x06);
    assert.ok(out.some((l) => /^w\d = -2147483648$/.test(l)), out.join("\n"));
    assert.ok(out.some((l) => /^if r1 (==|!=) r\d goto/.test(l)), out.join("\n"));
  });

  test("jumps to the next block vanish and empty blocks are threaded", () => {
    const f = new FnBuilder("f", 1);
    const b0 = f.block();
    const e1 = f.block();
    const e2 = f.block();
    const end = f.block();
    b0.jmp(e1);
    e1.jmp(e2);
    e2.jmp(end);
    end.ret(f.params[0]);
    assert.deepEqual(asm(f.build()), ["r0 = r1", "exit"]);
  });

  test("branches on constants fold and unreachable blocks disappear", () => {
    const f = new FnBuilder("f", 0);
    const b0 = f.block();
    const yes = f.block();
    const no = f.block();
    const c = b0.mov(3n);
    b0.br("slt", 64, c, 5n, yes, no);
    yes.ret(10n);
    no.ret(20n);
    assert.deepEqual(asm(f.build()), ["r0 = 10", "exit"]);
  });

  test("loops: back edges resolve to negative offsets", () => {
    const f = new FnBuilder("f", 1);
    const b0 = f.block();
    const head = f.block();
    const body = f.block();
    const exit = f.block();
    const i = b0.mov(0n);
    const acc = b0.mov(0n);
    b0.jmp(head);
    head.br("lt", 64, i, 10n, body, exit);
    body.alu("add", 64, acc, i, acc);
    body.alu("add", 64, i, 1n, i);
    body.jmp(head);
    exit.ret(acc);
    const out = asm(f.build());
    assert.ok(out.some((l) => /goto pc-\d+/.test(l)), out.join("\n"));
    assert.ok(out.length <= 8, out.join("\n"));
  });
});

describe("codegen: context stores", () => {
  test("an immediate stored into the context goes through a register (no BPF_ST into ctx: refused by Linux 6.1)", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    b.store(4, f.params[0], 72, 0x10001n);
    b.ret(0n);
    for (const optimize of [true, false]) {
      const out = generate(f.build(), { optimize }).instructions.map((i) => i.toString().replace(/^\([0-9a-f]{2}\) /, ""));
      assert.ok(out.some((l) => /^\*\(u32 \*\)\(r1 \+72\) = r\d$/.test(l)), out.join("\n"));
    }
  });
});

describe("codegen: errors", () => {
  test("a frame over 512 bytes is STACK_TOO_LARGE naming the function", () => {
    const f = new FnBuilder("bigframe", 0);
    const b = f.block();
    const s = f.slot(400, 8, "a");
    const t = f.slot(200, 8, "b");
    b.store(8, b.stackAddr(s), 0, 1n);
    b.store(8, b.stackAddr(t), 0, 1n);
    // Both are read after both are written: live at the same time, they cannot share bytes.
    b.load(8, b.stackAddr(s), 0);
    b.load(8, b.stackAddr(t), 0);
    b.ret(0n);
    // (Unoptimized: the optimizer would drop these accesses, and the slots with them.)
    assert.throws(() => generate(f.build(), { optimize: false }), (e: unknown) => e instanceof CodegenError && e.code === "STACK_TOO_LARGE" && e.fn === "bigframe" && /bigframe/.test(e.message));
  });

  test("slots never live at the same time share bytes; an escaping slot keeps its own", () => {
    const f = new FnBuilder("share", 0);
    const b = f.block();
    const s = f.slot(400, 8, "a");
    const t = f.slot(200, 8, "b");
    b.store(8, b.stackAddr(s), 0, 1n);
    b.load(8, b.stackAddr(s), 0);
    b.store(8, b.stackAddr(t), 0, 2n);
    b.load(8, b.stackAddr(t), 0);
    b.ret(0n);
    assert.equal(generate(f.build(), { optimize: false }).stackSize, 400);
    // The address of `a` stored into `b` escapes: `a` may be reached later through it.
    const g = new FnBuilder("escape", 0);
    const c = g.block();
    const u = g.slot(400, 8, "a");
    const v = g.slot(104, 8, "b");
    c.store(8, c.stackAddr(u), 0, 1n);
    c.load(8, c.stackAddr(u), 0);
    c.store(8, c.stackAddr(v), 0, c.stackAddr(u));
    c.load(8, c.stackAddr(v), 0);
    c.ret(0n);
    assert.equal(generate(g.build(), { optimize: false }).stackSize, 504);
  });

  test("too many arguments, bad vregs and missing blocks are typed errors", () => {
    const f = new FnBuilder("f", 6);
    f.block().ret(0n);
    assert.throws(() => generate(f.build()), (e: unknown) => e instanceof CodegenError && e.code === "TOO_MANY_ARGUMENTS");
    const g = new FnBuilder("g", 0);
    g.block().jmp(9);
    assert.throws(() => generate(g.build()), (e: unknown) => e instanceof CodegenError && e.code === "INVALID_IR");
    const h = new FnBuilder("h", 0);
    h.block().ret(99);
    assert.throws(() => generate(h.build()), (e: unknown) => e instanceof CodegenError && e.code === "INVALID_IR");
  });
});

describe("codegen: peephole", () => {
  test("zero-extension of an already 32-bit value and overwritten stack stores disappear; a reload of a word still in a register is a move", () => {
    const f = new FnBuilder("f", 1);
    const b = f.block();
    const slot = f.slot(8, 8);
    const x = b.load(4, f.params[0], 0);
    const y = b.ext(x, 32, false);
    const p = b.stackAddr(slot);
    b.store(8, p, 0, 0n);
    b.store(8, p, 0, y);
    b.ret(b.load(8, p, 0));
    assert.deepEqual(asm(f.build()), ["r1 = *(u32 *)(r1 +0)", "*(u64 *)(r10 -8) = r1", "r0 = r1", "exit"]);
  });
});
