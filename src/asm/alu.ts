// Builders for ALU and ALU64 instructions: arithmetic, moves, sign-extending moves, signed div/mod, byte swaps.
// Each builder validates its operands and documents the emitted semantics in C.

import { AsmError } from "../errors.js";
import { Instruction } from "./instruction.js";
import { ADDR_SPACE_CAST_OFFSET, AluOp, Class, Endian, SIGNED_DIVMOD_OFFSET, Source, type AluOpValue } from "./opcode.js";
import type { Register } from "./register.js";
import { imm32, oneOf, reg } from "./values.js";

/** ALU operations that take a source operand (everything but NEG and END). */
export type BinaryAluOp = Exclude<AluOpValue, 0x80 | 0xd0>;

const BINARY_OPS: readonly number[] = [
  AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.MOD, AluOp.XOR, AluOp.MOV, AluOp.ARSH,
];

function binaryOp(op: number, what: string): BinaryAluOp {
  return oneOf(op, BINARY_OPS, `${what}: ALU operation`) as BinaryAluOp;
}

/** `dst = dst OP (s64)imm` — 64-bit ALU with a sign-extended immediate (e.g. `r1 += -4`). */
export function alu64Imm(op: BinaryAluOp, dst: Register, imm: number | bigint): Instruction {
  const w = "alu64Imm";
  return new Instruction(Class.ALU64 | binaryOp(op, w) | Source.K, reg(dst, `${w}: dst`), 0, 0, imm32(imm, `${w}: imm`));
}

/** `dst = dst OP src` — 64-bit ALU with a register source (e.g. `r1 += r2`). */
export function alu64Reg(op: BinaryAluOp, dst: Register, src: Register): Instruction {
  const w = "alu64Reg";
  return new Instruction(Class.ALU64 | binaryOp(op, w) | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`));
}

/** `dst = (u32)((u32)dst OP (u32)imm)` — 32-bit ALU; the upper half of dst is zeroed (e.g. `w1 += 4`). */
export function alu32Imm(op: BinaryAluOp, dst: Register, imm: number | bigint): Instruction {
  const w = "alu32Imm";
  return new Instruction(Class.ALU | binaryOp(op, w) | Source.K, reg(dst, `${w}: dst`), 0, 0, imm32(imm, `${w}: imm`));
}

/** `dst = (u32)((u32)dst OP (u32)src)` — 32-bit ALU with a register source (e.g. `w1 += w2`). */
export function alu32Reg(op: BinaryAluOp, dst: Register, src: Register): Instruction {
  const w = "alu32Reg";
  return new Instruction(Class.ALU | binaryOp(op, w) | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`));
}

/** `dst = (s64)imm` — `r1 = -4`. */
export function mov64Imm(dst: Register, imm: number | bigint): Instruction {
  return alu64Imm(AluOp.MOV, dst, imm);
}

/** `dst = src` — `r1 = r2`. */
export function mov64Reg(dst: Register, src: Register): Instruction {
  return alu64Reg(AluOp.MOV, dst, src);
}

/** `dst = (u32)imm` — `w1 = 4`; the upper half of dst is zeroed. */
export function mov32Imm(dst: Register, imm: number | bigint): Instruction {
  return alu32Imm(AluOp.MOV, dst, imm);
}

/** `dst = (u32)src` — `w1 = w2`; the upper half of dst is zeroed. */
export function mov32Reg(dst: Register, src: Register): Instruction {
  return alu32Reg(AluOp.MOV, dst, src);
}

/** `dst = -dst` (64-bit). */
export function neg64(dst: Register): Instruction {
  return new Instruction(Class.ALU64 | AluOp.NEG, reg(dst, "neg64: dst"));
}

/** `dst = (u32)-(u32)dst` (32-bit). */
export function neg32(dst: Register): Instruction {
  return new Instruction(Class.ALU | AluOp.NEG, reg(dst, "neg32: dst"));
}

function signed(cls: number, op: number, x: boolean, dst: Register, operand: number | bigint, what: string): Instruction {
  const d = reg(dst, `${what}: dst`);
  if (x) return new Instruction(cls | op | Source.X, d, reg(Number(operand), `${what}: src`), SIGNED_DIVMOD_OFFSET);
  return new Instruction(cls | op | Source.K, d, 0, SIGNED_DIVMOD_OFFSET, imm32(operand, `${what}: imm`));
}

/** `dst = src == 0 ? 0 : (s64)dst s/ (s64)imm` — `r1 s/= 3` (v4). */
export function sdiv64Imm(dst: Register, imm: number | bigint): Instruction {
  return signed(Class.ALU64, AluOp.DIV, false, dst, imm, "sdiv64Imm");
}

/** `dst = src == 0 ? 0 : (s64)dst s/ (s64)src` — `r1 s/= r2` (v4). */
export function sdiv64Reg(dst: Register, src: Register): Instruction {
  return signed(Class.ALU64, AluOp.DIV, true, dst, src, "sdiv64Reg");
}

/** `dst = (u32)(src == 0 ? 0 : (s32)dst s/ (s32)imm)` — `w1 s/= 3` (v4). */
export function sdiv32Imm(dst: Register, imm: number | bigint): Instruction {
  return signed(Class.ALU, AluOp.DIV, false, dst, imm, "sdiv32Imm");
}

/** `dst = (u32)(src == 0 ? 0 : (s32)dst s/ (s32)src)` — `w1 s/= w2` (v4). */
export function sdiv32Reg(dst: Register, src: Register): Instruction {
  return signed(Class.ALU, AluOp.DIV, true, dst, src, "sdiv32Reg");
}

/** `dst = imm == 0 ? dst : (s64)dst s% (s64)imm` (truncating, like C) — `r1 s%= 3` (v4). */
export function smod64Imm(dst: Register, imm: number | bigint): Instruction {
  return signed(Class.ALU64, AluOp.MOD, false, dst, imm, "smod64Imm");
}

/** `dst = src == 0 ? dst : (s64)dst s% (s64)src` — `r1 s%= r2` (v4). */
export function smod64Reg(dst: Register, src: Register): Instruction {
  return signed(Class.ALU64, AluOp.MOD, true, dst, src, "smod64Reg");
}

/** `dst = (u32)(imm == 0 ? dst : (s32)dst s% (s32)imm)` — `w1 s%= 3` (v4). */
export function smod32Imm(dst: Register, imm: number | bigint): Instruction {
  return signed(Class.ALU, AluOp.MOD, false, dst, imm, "smod32Imm");
}

/** `dst = (u32)(src == 0 ? dst : (s32)dst s% (s32)src)` — `w1 s%= w2` (v4). */
export function smod32Reg(dst: Register, src: Register): Instruction {
  return signed(Class.ALU, AluOp.MOD, true, dst, src, "smod32Reg");
}

/** `dst = (s64)(s8|s16|s32)src` — `r1 = (s8)r2`, sign-extending 64-bit move (v4). */
export function movsx(dst: Register, src: Register, bits: 8 | 16 | 32): Instruction {
  const w = "movsx";
  return new Instruction(Class.ALU64 | AluOp.MOV | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`), oneOf(bits, [8, 16, 32], `${w}: bits`));
}

/** `dst = (u32)(s32)(s8|s16)src` — `w1 = (s8)w2`, sign-extending 32-bit move (v4). */
export function movsx32(dst: Register, src: Register, bits: 8 | 16): Instruction {
  const w = "movsx32";
  return new Instruction(Class.ALU | AluOp.MOV | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`), oneOf(bits, [8, 16], `${w}: bits`));
}

/** `dst = bswapN(dst)` — unconditional byte swap of the low N bits, zero-extended (ALU64 | END, v4). */
export function bswap(dst: Register, bits: 16 | 32 | 64): Instruction {
  return new Instruction(Class.ALU64 | AluOp.END | Endian.TO_LE, reg(dst, "bswap: dst"), 0, 0, BigInt(oneOf(bits, [16, 32, 64], "bswap: bits")));
}

/** `dst = htobeN(dst)` — convert the low N bits to big-endian, zero-extended (`r1 = be16 r1`). */
export function be(dst: Register, bits: 16 | 32 | 64): Instruction {
  return new Instruction(Class.ALU | AluOp.END | Endian.TO_BE, reg(dst, "be: dst"), 0, 0, BigInt(oneOf(bits, [16, 32, 64], "be: bits")));
}

/** `dst = htoleN(dst)` — convert the low N bits to little-endian, zero-extended (`r1 = le16 r1`). */
export function le(dst: Register, bits: 16 | 32 | 64): Instruction {
  return new Instruction(Class.ALU | AluOp.END | Endian.TO_LE, reg(dst, "le: dst"), 0, 0, BigInt(oneOf(bits, [16, 32, 64], "le: bits")));
}

/**
 * `dst = addr_space_cast(src, dstAs, srcAs)` — convert a pointer between address spaces (arena, 6.9+).
 * Encoded as ALU64 | MOV | X with offset 1 and imm = dstAs << 16 | srcAs.
 */
export function addrSpaceCast(dst: Register, src: Register, dstAs: number, srcAs: number): Instruction {
  const w = "addrSpaceCast";
  for (const [v, n] of [[dstAs, "dstAs"], [srcAs, "srcAs"]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new AsmError("ASM_INVALID_OPERAND", `${w}: ${n} ${v} is not a 16-bit address space number`);
    }
  }
  return new Instruction(
    Class.ALU64 | AluOp.MOV | Source.X,
    reg(dst, `${w}: dst`),
    reg(src, `${w}: src`),
    ADDR_SPACE_CAST_OFFSET,
    BigInt.asIntN(32, BigInt((dstAs << 16) >>> 0) | BigInt(srcAs)),
  );
}
