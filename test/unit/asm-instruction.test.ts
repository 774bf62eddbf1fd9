// Instruction model tests: decoded views (class, size, mode, ops, predicates), imm/nextImm accessors,
// clone and metadata, and resolveReferences turning labels into slot offsets.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AsmError } from "../../src/errors.js";
import {
  AluOp, AtomicOp, Class, Instruction, JumpOp, Mode, Size, Source, R0, R1, R2, R6,
  alu64Reg, atomic, call, callKfunc, callSub, decode, disassemble, encode, exit, gotol, gotox, ja, jump32Imm, jumpImm,
  ldBtfId, ldFunc, ldImm64, ldMapFd, ldMapIdx, ldMapIdxValue, ldMapValue, loadMem, loadMemSx, mayGoto, mov64Imm, movsx,
  resolveReferences, sdiv64Reg, storeImm, storeMem,
} from "../../src/asm/index.js";

describe("asm instruction: decoded views", () => {
  test("class, size, mode, source bit and ops", () => {
    const ld = loadMem(Size.H, R1, R2, 4);
    assert.equal(ld.class, Class.LDX);
    assert.equal(ld.size, Size.H);
    assert.equal(ld.mode, Mode.MEM);
    assert.equal(ld.accessBytes, 2);
    assert.equal(ld.aluOp, undefined);
    assert.equal(ld.jumpOp, undefined);
    const add = alu64Reg(AluOp.ADD, R1, R2);
    assert.equal(add.class, Class.ALU64);
    assert.equal(add.aluOp, AluOp.ADD);
    assert.equal(add.sourceBit, Source.X);
    assert.equal(add.accessBytes, undefined);
    const j = jump32Imm(JumpOp.JSLT, R1, 3, 2);
    assert.equal(j.class, Class.JMP32);
    assert.equal(j.jumpOp, JumpOp.JSLT);
    assert.equal(j.sourceBit, Source.K);
  });

  test("predicates", () => {
    const table: Array<[string, Instruction, string[]]> = [
      ["ld_imm64", ldImm64(R1, 1), ["isLoadImm64", "isLoadStore", "isKnown"]],
      ["map fd", ldMapFd(R1, 3), ["isLoadImm64", "isLoadFromMap", "isLoadStore", "isKnown"]],
      ["map value", ldMapValue(R1, 3, 8), ["isLoadImm64", "isLoadFromMap", "isLoadStore", "isKnown"]],
      ["map idx", ldMapIdx(R1, 0), ["isLoadImm64", "isLoadFromMap", "isLoadStore", "isKnown"]],
      ["map idx value", ldMapIdxValue(R1, 0, 0), ["isLoadImm64", "isLoadFromMap", "isLoadStore", "isKnown"]],
      ["btf id", ldBtfId(R1, 5), ["isLoadImm64", "isLoadBtfId", "isLoadStore", "isKnown"]],
      ["func", ldFunc(R1, 2), ["isLoadImm64", "isLoadFunc", "isLoadStore", "isKnown"]],
      ["helper call", call(1), ["isCall", "isBuiltinCall", "isKnown"]],
      ["bpf-to-bpf call", callSub(3), ["isCall", "isPseudoCall", "isKnown"]],
      ["kfunc call", callKfunc(9), ["isCall", "isKfuncCall", "isKnown"]],
      ["exit", exit(), ["isExit", "isKnown"]],
      ["conditional jump", jumpImm(JumpOp.JEQ, R0, 0, 1), ["isJump", "isConditionalJump", "isKnown"]],
      ["ja", ja(1), ["isJump", "isKnown"]],
      ["gotol", gotol(1), ["isJump", "isGotol", "isKnown"]],
      ["may_goto", mayGoto(1), ["isJump", "isMayGoto", "isKnown"]],
      ["gotox", gotox(R1), ["isGotox", "isKnown"]],
      ["ldx", loadMem(Size.W, R1, R2, 0), ["isMemLoad", "isLoadStore", "isKnown"]],
      ["ldsx", loadMemSx(Size.W, R1, R2, 0), ["isMemLoad", "isLoadStore", "isKnown"]],
      ["stx", storeMem(Size.W, R1, R2, 0), ["isMemStore", "isLoadStore", "isKnown"]],
      ["st", storeImm(Size.W, R1, 0, 1), ["isMemStore", "isLoadStore", "isKnown"]],
      ["atomic", atomic(AtomicOp.ADD, Size.DW, R1, R2, 0), ["isAtomic", "isLoadStore", "isKnown"]],
      ["sdiv", sdiv64Reg(R1, R2), ["isALU", "isSignedDivMod", "isKnown"]],
      ["movsx", movsx(R1, R2, 8), ["isALU", "isMovSx", "isKnown"]],
      ["unknown (class bits still read)", new Instruction(0xff), ["isALU"]],
    ];
    const all = [
      "isLoadImm64", "isLoadFromMap", "isLoadFunc", "isLoadBtfId", "isLoadStore", "isKnown", "isCall", "isBuiltinCall",
      "isPseudoCall", "isKfuncCall", "isExit", "isJump", "isConditionalJump", "isGotol", "isGotox", "isMayGoto", "isMemLoad",
      "isMemStore", "isAtomic", "isALU", "isSignedDivMod", "isMovSx",
    ] as const;
    for (const [name, insn, expected] of table) {
      for (const p of all) {
        assert.equal(insn[p], expected.includes(p), `${name}: ${p}`);
      }
    }
  });

  test("slots and branch offsets", () => {
    assert.equal(ldImm64(R1, 1).slots, 2);
    assert.equal(mov64Imm(R1, 1).slots, 1);
    assert.equal(jumpImm(JumpOp.JEQ, R0, 0, -4).branchOffset, -4);
    assert.equal(gotol(70000).branchOffset, 70000);
    assert.equal(callSub(-9).branchOffset, -9);
    assert.equal(ldFunc(R1, 12).branchOffset, 12);
    assert.equal(call(1).branchOffset, undefined);
    assert.equal(exit().branchOffset, undefined);
  });

  test("imm and nextImm accessors", () => {
    const m = ldMapValue(R1, 7, 24);
    assert.equal(m.imm, 7);
    assert.equal(m.nextImm, 24);
    m.imm = 42; // the loader patching in a map fd keeps the value offset
    assert.equal(m.nextImm, 24);
    assert.equal(m.constant, (24n << 32n) | 42n);
    m.nextImm = -1;
    assert.equal(m.constant, BigInt.asIntN(64, (0xffffffffn << 32n) | 42n));
    const plain = mov64Imm(R1, 0);
    plain.imm = 0xffffffff;
    assert.equal(plain.constant, -1n);
    assert.equal(plain.nextImm, 0);
    assert.throws(() => {
      plain.nextImm = 1;
    }, (e: unknown) => e instanceof AsmError && e.code === "ASM_INVALID_OPERAND");
    for (const bad of [Number.NaN, 1.5, 2 ** 32, -(2 ** 31) - 1]) {
      assert.throws(() => {
        plain.imm = bad;
      }, (e: unknown) => e instanceof AsmError && e.code === "ASM_INVALID_OPERAND", String(bad));
      assert.throws(() => {
        m.nextImm = bad;
      }, (e: unknown) => e instanceof AsmError && e.code === "ASM_INVALID_OPERAND", String(bad));
    }
  });

  test("clone is deep and keeps metadata", () => {
    const a = ldMapFd(R1, "events").withSymbol("entry").withSource({ file: "x.c", line: 3, column: 5, text: "int x;" });
    const b = a.clone();
    assert.ok(b.sameEncoding(a));
    assert.equal(b.symbol, "entry");
    assert.equal(b.reference, "events");
    assert.deepEqual(b.source, a.source);
    assert.notEqual(b.source, a.source);
    b.constant = 9n;
    b.source!.line = 99;
    assert.equal(a.constant, 0n);
    assert.equal(a.source!.line, 3);
    assert.equal(a.withSymbol(undefined).symbol, undefined);
    assert.ok(!("symbol" in a));
  });

  test("constructor accepts number constants and rejects fractions", () => {
    assert.equal(new Instruction(0xb7, 1, 0, 0, -5).constant, -5n);
    assert.throws(() => new Instruction(0xb7, 1, 0, 0, 0.5), (e: unknown) => e instanceof AsmError);
  });
});

describe("asm resolveReferences", () => {
  test("forward and backward jumps count ld_imm64 as two slots", () => {
    const prog = [
      mov64Imm(R0, 0).withSymbol("top"), // 0
      jumpImm(JumpOp.JEQ, R1, 0, "out"), // 1
      ldImm64(R2, 5), // 2-3
      ja("top"), // 4
      ldMapFd(R1, "mymap"), // 5-6 (map reference: left alone)
      exit().withSymbol("out"), // 7
    ];
    const same = resolveReferences(prog);
    assert.equal(same, prog);
    assert.equal(prog[1].offset, 5); // 7 - (1 + 1)
    assert.equal(prog[3].offset, -5); // 0 - (4 + 1)
    assert.equal(prog[4].constant, 0n);
    assert.equal(prog[4].reference, "mymap");
    assert.deepEqual(disassemble(prog).slice(1, 4), [
      "1: (15) if r1 == 0x0 goto pc+5",
      "2: (18) r2 = 0x5",
      "4: (05) goto pc-5",
    ]);
  });

  test("gotol, bpf-to-bpf calls and PSEUDO_FUNC loads use imm", () => {
    const prog = [
      ldFunc(R2, "cb"), // 0-1
      callSub("helper"), // 2
      gotol("end"), // 3
      mov64Imm(R0, 1).withSymbol("helper"), // 4
      exit(), // 5
      mov64Imm(R0, 0).withSymbol("cb"), // 6
      exit().withSymbol("end"), // 7
      mayGoto("cb"), // 8
      callSub("cb"), // 9
      ldFunc(R6, "helper"), // 10-11
      callKfunc("bpf_rcu_read_lock"), // 12 (kfunc reference: left alone)
    ];
    resolveReferences(prog);
    assert.equal(prog[0].constant, 5n); // 6 - (0 + 1)
    assert.equal(prog[1].constant, 1n);
    assert.equal(prog[2].constant, 3n);
    assert.equal(prog[7].offset, -3); // 6 - (8 + 1)
    assert.equal(prog[8].constant, -4n);
    // a backward PSEUDO_FUNC target keeps next_imm zero
    assert.equal(prog[9].imm, -7); // 4 - (10 + 1)
    assert.equal(prog[9].nextImm, 0);
    assert.equal(Buffer.from(encode([prog[9]])).toString("hex"), "18460000f9ffffff0000000000000000");
    assert.equal(prog[10].constant, 0n);
    // the resolved program decodes to the same targets
    const back = decode(encode(prog));
    assert.deepEqual(back.map((i) => i.branchOffset), prog.map((i) => i.branchOffset));
  });

  test("a missing label is an error naming it", () => {
    assert.throws(
      () => resolveReferences([ja("nowhere"), exit()]),
      (e: unknown) => e instanceof AsmError && e.code === "ASM_UNRESOLVED_REFERENCE" && /"nowhere"/.test(e.message),
    );
    assert.throws(() => resolveReferences([callSub("f")]), (e: unknown) => e instanceof AsmError && e.code === "ASM_UNRESOLVED_REFERENCE");
  });

  test("duplicate symbols are an error", () => {
    assert.throws(
      () => resolveReferences([exit().withSymbol("a"), exit().withSymbol("a")]),
      (e: unknown) => e instanceof AsmError && e.code === "ASM_DUPLICATE_SYMBOL" && /slot 0 and at slot 1/.test(e.message),
    );
  });

  test("a 16-bit jump that overflows asks for gotol", () => {
    const filler = Array.from({ length: 40000 }, () => mov64Imm(R0, 0));
    const prog = [ja("far"), ...filler, exit().withSymbol("far")];
    assert.throws(() => resolveReferences(prog), (e: unknown) => e instanceof AsmError && e.code === "ASM_OUT_OF_RANGE" && /gotol/.test(e.message));
    const ok = [gotol("far"), ...filler, exit().withSymbol("far")];
    resolveReferences(ok);
    assert.equal(ok[0].constant, 40000n);
  });
});
