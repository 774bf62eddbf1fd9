// Disassembler tests: hand-written verifier-syntax lines (kernel/bpf/disasm.c) for every opcode family,
// slot numbering, labels, naming options and the `(xx) unknown` fallback.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AluOp, AtomicOp, Instruction, JumpOp, Size, R0, R1, R2, R3, R10,
  addrSpaceCast, alu32Imm, alu32Reg, alu64Imm, alu64Reg, atomic, be, bswap, call, callKfunc, callSub, disassemble, exit,
  formatInstruction, gotol, gotox, ja, jump32Imm, jump32Reg, jumpImm, jumpReg, ldBtfId, ldFunc, ldImm64, ldMapFd, ldMapIdx,
  ldMapIdxValue, ldMapValue, le, loadAbs, loadAcquire, loadInd, loadMem, loadMemSx, mayGoto, mov32Imm, mov32Reg, mov64Imm,
  mov64Reg, movsx, movsx32, neg32, neg64, sdiv32Imm, sdiv64Reg, smod32Reg, smod64Imm, storeImm, storeMem, storeRelease,
  symbolicImm,
} from "../../src/asm/index.js";

const cases: Array<[Instruction, string]> = [
  // ALU / ALU64
  [mov64Imm(R0, 0), "(b7) r0 = 0"],
  [mov32Imm(R1, -4), "(b4) w1 = -4"],
  [mov64Reg(R1, R2), "(bf) r1 = r2"],
  [mov32Reg(R1, R2), "(bc) w1 = w2"],
  [alu64Imm(AluOp.ADD, R1, -4), "(07) r1 += -4"],
  [alu32Imm(AluOp.ADD, R1, 4), "(04) w1 += 4"],
  [alu64Imm(AluOp.AND, R1, 0xffffffff), "(57) r1 &= -1"],
  [alu64Reg(AluOp.SUB, R1, R2), "(1f) r1 -= r2"],
  [alu64Reg(AluOp.MUL, R1, R2), "(2f) r1 *= r2"],
  [alu64Reg(AluOp.DIV, R1, R2), "(3f) r1 /= r2"],
  [alu64Reg(AluOp.OR, R1, R2), "(4f) r1 |= r2"],
  [alu64Reg(AluOp.AND, R1, R2), "(5f) r1 &= r2"],
  [alu64Reg(AluOp.LSH, R1, R2), "(6f) r1 <<= r2"],
  [alu64Reg(AluOp.RSH, R1, R2), "(7f) r1 >>= r2"],
  [alu64Reg(AluOp.MOD, R1, R2), "(9f) r1 %= r2"],
  [alu64Reg(AluOp.XOR, R1, R2), "(af) r1 ^= r2"],
  [alu64Reg(AluOp.ARSH, R1, R2), "(cf) r1 s>>= r2"],
  [alu32Reg(AluOp.ARSH, R3, 4), "(cc) w3 s>>= w4"],
  [alu32Imm(AluOp.LSH, R3, 5), "(64) w3 <<= 5"],
  [neg64(R1), "(87) r1 = -r1"],
  [neg32(R1), "(84) w1 = -w1"],
  [sdiv64Reg(R1, R2), "(3f) r1 s/= r2"],
  [sdiv32Imm(R1, -3), "(34) w1 s/= -3"],
  [smod64Imm(R1, 7), "(97) r1 s%= 7"],
  [smod32Reg(R1, R2), "(9c) w1 s%= w2"],
  [movsx(R1, R2, 8), "(bf) r1 = (s8)r2"],
  [movsx(R1, R2, 16), "(bf) r1 = (s16)r2"],
  [movsx(R1, R2, 32), "(bf) r1 = (s32)r2"],
  [movsx32(R1, R2, 16), "(bc) w1 = (s16)w2"],
  [bswap(R1, 16), "(d7) r1 = bswap16 r1"],
  [bswap(R3, 64), "(d7) r3 = bswap64 r3"],
  [be(R1, 16), "(dc) r1 = be16 r1"],
  [le(R1, 32), "(d4) r1 = le32 r1"],
  [addrSpaceCast(R1, R2, 0, 1), "(bf) r1 = addr_space_cast(r2, 0, 1)"],
  [addrSpaceCast(R1, R2, 1, 0), "(bf) r1 = addr_space_cast(r2, 1, 0)"],
  [new Instruction(0xbf, 1, 2, -1), "(bf) r1 = &(void __percpu *)(r2)"],
  // ld_imm64
  [ldImm64(R1, 0x1122334455667788n), "(18) r1 = 0x1122334455667788"],
  [ldImm64(R2, -1), "(18) r2 = 0xffffffffffffffff"],
  [ldImm64(R0, 0), "(18) r0 = 0x0"],
  [ldMapFd(R1, 3), "(18) r1 = 0x3"],
  [ldMapValue(R2, 4, 16), "(18) r2 = 0x1000000004"],
  // loads and stores
  [loadMem(Size.W, R2, R0, 0), "(61) r2 = *(u32 *)(r0 +0)"],
  [loadMem(Size.B, R2, R1, -4), "(71) r2 = *(u8 *)(r1 -4)"],
  [loadMem(Size.H, R2, R1, 2), "(69) r2 = *(u16 *)(r1 +2)"],
  [loadMem(Size.DW, R2, R1, 32767), "(79) r2 = *(u64 *)(r1 +32767)"],
  [loadMemSx(Size.B, R2, R1, 0), "(91) r2 = *(s8 *)(r1 +0)"],
  [loadMemSx(Size.H, R2, R1, 2), "(89) r2 = *(s16 *)(r1 +2)"],
  [loadMemSx(Size.W, R2, R1, -8), "(81) r2 = *(s32 *)(r1 -8)"],
  [storeMem(Size.W, R10, R1, -4), "(63) *(u32 *)(r10 -4) = r1"],
  [storeMem(Size.DW, R10, R1, -8), "(7b) *(u64 *)(r10 -8) = r1"],
  [storeMem(Size.H, R10, R1, -2), "(6b) *(u16 *)(r10 -2) = r1"],
  [storeMem(Size.B, R10, R1, -1), "(73) *(u8 *)(r10 -1) = r1"],
  [storeImm(Size.B, R10, -1, 7), "(72) *(u8 *)(r10 -1) = 7"],
  [storeImm(Size.DW, R10, -16, -1), "(7a) *(u64 *)(r10 -16) = -1"],
  [storeImm(Size.W, R1, 0, 0x12345678), "(62) *(u32 *)(r1 +0) = 305419896"],
  [loadAbs(Size.B, 12), "(30) r0 = *(u8 *)skb[12]"],
  [loadInd(Size.H, R2, 0), "(48) r0 = *(u16 *)skb[r2 + 0]"],
  [loadInd(Size.W, R3, 8), "(40) r0 = *(u32 *)skb[r3 + 8]"],
  // atomics
  [atomic(AtomicOp.ADD, Size.DW, R1, R2, 8), "(db) lock *(u64 *)(r1 +8) += r2"],
  [atomic(AtomicOp.ADD, Size.W, R1, R2, 8), "(c3) lock *(u32 *)(r1 +8) += r2"],
  [atomic(AtomicOp.OR, Size.DW, R1, R2, 8), "(db) lock *(u64 *)(r1 +8) |= r2"],
  [atomic(AtomicOp.AND, Size.DW, R1, R2, -8), "(db) lock *(u64 *)(r1 -8) &= r2"],
  [atomic(AtomicOp.XOR, Size.W, R1, R2, 0), "(c3) lock *(u32 *)(r1 +0) ^= r2"],
  [atomic(AtomicOp.FETCH_ADD, Size.DW, R1, R2, 8), "(db) r2 = atomic64_fetch_add((u64 *)(r1 +8), r2)"],
  [atomic(AtomicOp.FETCH_ADD, Size.W, R1, R2, 8), "(c3) r2 = atomic_fetch_add((u32 *)(r1 +8), r2)"],
  [atomic(AtomicOp.FETCH_OR, Size.DW, R1, R2, 8), "(db) r2 = atomic64_fetch_or((u64 *)(r1 +8), r2)"],
  [atomic(AtomicOp.FETCH_AND, Size.W, R1, R2, 8), "(c3) r2 = atomic_fetch_and((u32 *)(r1 +8), r2)"],
  [atomic(AtomicOp.FETCH_XOR, Size.DW, R1, R2, 8), "(db) r2 = atomic64_fetch_xor((u64 *)(r1 +8), r2)"],
  [atomic(AtomicOp.XCHG, Size.DW, R1, R2, 8), "(db) r2 = atomic64_xchg((u64 *)(r1 +8), r2)"],
  [atomic(AtomicOp.XCHG, Size.W, R1, R2, 8), "(c3) r2 = atomic_xchg((u32 *)(r1 +8), r2)"],
  [atomic(AtomicOp.CMPXCHG, Size.DW, R1, R2, 8), "(db) r0 = atomic64_cmpxchg((u64 *)(r1 +8), r0, r2)"],
  [atomic(AtomicOp.CMPXCHG, Size.W, R1, R2, 8), "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +8), r0, r2)"],
  [loadAcquire(Size.W, R0, R1, 0), "(c3) r0 = load_acquire((u32 *)(r1 +0))"],
  [loadAcquire(Size.DW, R3, R1, -8), "(db) r3 = load_acquire((u64 *)(r1 -8))"],
  [storeRelease(Size.B, R1, R2, 4), "(d3) store_release((u8 *)(r1 +4), r2)"],
  [storeRelease(Size.H, R1, R2, 4), "(cb) store_release((u16 *)(r1 +4), r2)"],
  // jumps
  [jumpImm(JumpOp.JEQ, R0, 0, 1), "(15) if r0 == 0x0 goto pc+1"],
  [jumpReg(JumpOp.JNE, R1, R2, -1), "(5d) if r1 != r2 goto pc-1"],
  [jumpImm(JumpOp.JGT, R1, 5, 0), "(25) if r1 > 0x5 goto pc+0"],
  [jumpImm(JumpOp.JGE, R1, 5, 0), "(35) if r1 >= 0x5 goto pc+0"],
  [jumpImm(JumpOp.JSET, R1, 8, 3), "(45) if r1 & 0x8 goto pc+3"],
  [jumpImm(JumpOp.JSGT, R1, 8, 3), "(65) if r1 s> 0x8 goto pc+3"],
  [jumpImm(JumpOp.JSGE, R1, -1, 3), "(75) if r1 s>= 0xffffffff goto pc+3"],
  [jumpImm(JumpOp.JLT, R1, 0x10, 3), "(a5) if r1 < 0x10 goto pc+3"],
  [jumpImm(JumpOp.JLE, R1, 0x10, 3), "(b5) if r1 <= 0x10 goto pc+3"],
  [jumpReg(JumpOp.JSLT, R1, R2, 3), "(cd) if r1 s< r2 goto pc+3"],
  [jumpReg(JumpOp.JSLE, R1, R2, 3), "(dd) if r1 s<= r2 goto pc+3"],
  [jump32Imm(JumpOp.JGT, R1, 5, 1), "(26) if w1 > 0x5 goto pc+1"],
  [jump32Reg(JumpOp.JSLT, R1, R2, 2), "(ce) if w1 s< w2 goto pc+2"],
  [jump32Reg(JumpOp.JSET, R1, R2, -2), "(4e) if w1 & w2 goto pc-2"],
  [ja(4), "(05) goto pc+4"],
  [ja(-1), "(05) goto pc-1"],
  [gotol(100000), "(06) gotol pc+100000"],
  [gotol(-5), "(06) gotol pc-5"],
  [mayGoto(3), "(e5) may_goto pc+3"],
  [gotox(R1), "(0d) gotox r1"],
  // calls and exit
  [call(1), "(85) call bpf_map_lookup_elem#1"],
  [call("ringbuf_output"), "(85) call bpf_ringbuf_output#130"],
  [call(0), "(85) call bpf_unspec#0"],
  [call(99999), "(85) call unknown#99999"],
  [new Instruction(0x85, 0, 7, 0, 1), "(85) call unknown#1"],
  [callSub(-3), "(85) call pc-3"],
  [callSub(5), "(85) call pc+5"],
  [callKfunc(1234), "(85) call kernel-function#1234"],
  [callKfunc("bpf_rcu_read_lock"), "(85) call bpf_rcu_read_lock#0"],
  [exit(), "(95) exit"],
  // unknown opcodes and forms the kernel prints as BUG_*
  [new Instruction(0x00), "(00) unknown"],
  [new Instruction(0xff, 15, 15, -1, -1), "(ff) unknown"],
  [new Instruction(0x86, 0, 0, 0, 1), "(86) unknown"],
  [new Instruction(0x8c, 1, 2), "(8c) unknown"],
  [new Instruction(0xdf, 1, 0, 0, 16), "(df) unknown"],
  [new Instruction(0x99, 1, 2), "(99) unknown"],
  [new Instruction(0xdb, 1, 2, 0, 0x10), "(db) unknown"],
  [new Instruction(0xe5, 0, 1, 2), "(e5) unknown"],
  [new Instruction(0xc2, 0, 0), "(c2) unknown"],
];

describe("asm disassembler: verifier syntax", () => {
  for (const [insn, expected] of cases) {
    test(expected, () => {
      assert.equal(formatInstruction(insn), expected);
      assert.equal(insn.toString(), expected);
    });
  }
});

describe("asm disassembler: programs", () => {
  test("indices are slot indices", () => {
    const prog = [mov64Imm(R0, 0), ldMapFd(R1, 5), call(1), jumpImm(JumpOp.JEQ, R0, 0, 1), loadMem(Size.W, R2, R0, 0), exit()];
    assert.deepEqual(disassemble(prog), [
      "0: (b7) r0 = 0",
      "1: (18) r1 = 0x5",
      "3: (85) call bpf_map_lookup_elem#1",
      "4: (15) if r0 == 0x0 goto pc+1",
      "5: (61) r2 = *(u32 *)(r0 +0)",
      "6: (95) exit",
    ]);
  });

  test("labels and start slot", () => {
    const prog = [mov64Imm(R0, 1).withSymbol("entry"), ldImm64(R1, 7), exit().withSymbol("done")];
    assert.deepEqual(disassemble(prog, { labels: true, startSlot: 10 }), [
      "entry:",
      "10: (b7) r0 = 1",
      "11: (18) r1 = 0x7",
      "done:",
      "13: (95) exit",
    ]);
  });

  test("naming callbacks", () => {
    const opts = {
      helperName: (id: number) => (id === 1 ? "custom_lookup" : undefined),
      kfuncName: (insn: Instruction) => (insn.imm === 77 ? "bpf_obj_new_impl" : undefined),
      immName: (insn: Instruction) => (insn.isLoadFromMap ? "map_ptr" : undefined),
    };
    assert.equal(formatInstruction(call(1), opts), "(85) call custom_lookup#1");
    assert.equal(formatInstruction(call(2), opts), "(85) call bpf_map_update_elem#2");
    assert.equal(formatInstruction(callKfunc(77), opts), "(85) call bpf_obj_new_impl#77");
    assert.equal(formatInstruction(ldMapFd(R1, 3), opts), "(18) r1 = map_ptr");
    assert.equal(formatInstruction(ldImm64(R1, 3), opts), "(18) r1 = 0x3");
  });

  test("symbolicImm shows what ld_imm64 refers to", () => {
    const o = { immName: symbolicImm };
    assert.equal(formatInstruction(ldMapFd(R1, 3), o), "(18) r1 = map[fd:3]");
    assert.equal(formatInstruction(ldMapFd(R1, "events"), o), "(18) r1 = map[events]");
    assert.equal(formatInstruction(ldMapValue(R2, 4, 16), o), "(18) r2 = map[fd:4][0]+16");
    assert.equal(formatInstruction(ldMapValue(R2, ".rodata", 8), o), "(18) r2 = map[.rodata][0]+8");
    assert.equal(formatInstruction(ldMapIdx(R1, 2), o), "(18) r1 = map[idx:2]");
    assert.equal(formatInstruction(ldMapIdxValue(R1, 2, 8), o), "(18) r1 = map[idx:2][0]+8");
    assert.equal(formatInstruction(ldBtfId(R1, 99), o), "(18) r1 = btf_id[99]");
    assert.equal(formatInstruction(ldBtfId(R1, "bpf_prog_active"), o), "(18) r1 = bpf_prog_active");
    assert.equal(formatInstruction(ldFunc(R1, 5), o), "(18) r1 = func[pc+5]");
    assert.equal(formatInstruction(ldFunc(R1, "cb"), o), "(18) r1 = func[cb]");
    assert.equal(formatInstruction(ldImm64(R1, -2), o), "(18) r1 = 0xfffffffffffffffe");
  });
});
