// Builders for memory loads/stores, ld_imm64 (plain constants and every pseudo form) and legacy packet loads.
// Map and BTF references may be given by name; the name goes to `reference` for the loader to patch.

import { AsmError } from "../errors.js";
import { withImmTarget, type Target } from "./jump.js";
import { Instruction } from "./instruction.js";
import { Class, Mode, OP_LD_IMM64, PseudoLoad, Size, type SizeValue } from "./opcode.js";
import type { Register } from "./register.js";
import { imm32, imm64, int32, off16, oneOf, reg } from "./values.js";

const SIZES: readonly SizeValue[] = [Size.B, Size.H, Size.W, Size.DW];
const SX_SIZES: readonly SizeValue[] = [Size.B, Size.H, Size.W];

function size(value: number, what: string, allowed = SIZES): SizeValue {
  return oneOf(value, allowed, `${what}: size (Size.B/H/W${allowed.length === 4 ? "/DW" : ""})`);
}

/** `dst = *(u8|u16|u32|u64 *)(src + off)` — zero-extending load, e.g. `r2 = *(u32 *)(r1 +4)`. */
export function loadMem(sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  const w = "loadMem";
  return new Instruction(Class.LDX | Mode.MEM | size(sz, w), reg(dst, `${w}: dst`), reg(src, `${w}: src`), off16(off, `${w}: offset`));
}

/** `dst = *(s8|s16|s32 *)(src + off)` — sign-extending load (v4), e.g. `r2 = *(s8 *)(r1 +0)`. */
export function loadMemSx(sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  const w = "loadMemSx";
  return new Instruction(Class.LDX | Mode.MEMSX | size(sz, w, SX_SIZES), reg(dst, `${w}: dst`), reg(src, `${w}: src`), off16(off, `${w}: offset`));
}

/** `*(u8|u16|u32|u64 *)(dst + off) = src` — store a register. */
export function storeMem(sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  const w = "storeMem";
  return new Instruction(Class.STX | Mode.MEM | size(sz, w), reg(dst, `${w}: dst`), reg(src, `${w}: src`), off16(off, `${w}: offset`));
}

/** `*(u8|u16|u32|u64 *)(dst + off) = imm` — store an immediate (sign-extended for DW). */
export function storeImm(sz: SizeValue, dst: Register, off: number, imm: number | bigint): Instruction {
  const w = "storeImm";
  return new Instruction(Class.ST | Mode.MEM | size(sz, w), reg(dst, `${w}: dst`), 0, off16(off, `${w}: offset`), imm32(imm, `${w}: imm`));
}

function ld64(dst: Register, pseudo: number, constant: bigint, what: string): Instruction {
  return new Instruction(OP_LD_IMM64, reg(dst, `${what}: dst`), pseudo, 0, constant);
}

function lohi(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** `dst = value` — 64-bit constant (ld_imm64, two slots); value in [-2^63, 2^64). */
export function ldImm64(dst: Register, value: number | bigint): Instruction {
  return ld64(dst, PseudoLoad.NONE, imm64(value, "ldImm64: value"), "ldImm64");
}

/** `dst = map_by_fd(fd)` — load a map pointer (PSEUDO_MAP_FD); a name is kept in `reference`. */
export function ldMapFd(dst: Register, map: number | string): Instruction {
  const w = "ldMapFd";
  if (typeof map === "string") return ld64(dst, PseudoLoad.MAP_FD, 0n, w).withReference(name(map, w));
  return ld64(dst, PseudoLoad.MAP_FD, lohi(int32(map, `${w}: fd`), 0), w);
}

/** `dst = map_val(map_by_fd(fd)) + off` — address inside an array map's value (PSEUDO_MAP_VALUE). */
export function ldMapValue(dst: Register, map: number | string, off = 0): Instruction {
  const w = "ldMapValue";
  const o = int32(off, `${w}: value offset`);
  if (typeof map === "string") return ld64(dst, PseudoLoad.MAP_VALUE, lohi(0, o), w).withReference(name(map, w));
  return ld64(dst, PseudoLoad.MAP_VALUE, lohi(int32(map, `${w}: fd`), o), w);
}

/** `dst = map_by_idx(idx)` — map pointer by fd_array index (PSEUDO_MAP_IDX, 5.14+). */
export function ldMapIdx(dst: Register, idx: number): Instruction {
  return ld64(dst, PseudoLoad.MAP_IDX, lohi(int32(idx, "ldMapIdx: index"), 0), "ldMapIdx");
}

/** `dst = map_val(map_by_idx(idx)) + off` — value address by fd_array index (PSEUDO_MAP_IDX_VALUE). */
export function ldMapIdxValue(dst: Register, idx: number, off = 0): Instruction {
  const w = "ldMapIdxValue";
  return ld64(dst, PseudoLoad.MAP_IDX_VALUE, lohi(int32(idx, `${w}: index`), int32(off, `${w}: value offset`)), w);
}

/**
 * `dst = &kernel_var` — address of a kernel variable by BTF id (PSEUDO_BTF_ID); next_imm is the fd of
 * a module BTF (0 for vmlinux). A name is kept in `reference`.
 */
export function ldBtfId(dst: Register, btf: number | string, btfFd = 0): Instruction {
  const w = "ldBtfId";
  const fd = int32(btfFd, `${w}: BTF fd`);
  if (typeof btf === "string") return ld64(dst, PseudoLoad.BTF_ID, lohi(0, fd), w).withReference(name(btf, w));
  return ld64(dst, PseudoLoad.BTF_ID, lohi(int32(btf, `${w}: BTF id`), fd), w);
}

/** `dst = &subprog` — address of a subprogram, pc-relative (PSEUDO_FUNC), e.g. for bpf_loop callbacks. */
export function ldFunc(dst: Register, target: Target): Instruction {
  return withImmTarget(ld64(dst, PseudoLoad.FUNC, 0n, "ldFunc"), target, "ldFunc: target");
}

/** `r0 = ntoh(*(u8|u16|u32 *)(skb->data + imm))` — legacy packet load (socket filters only). */
export function loadAbs(sz: SizeValue, imm: number): Instruction {
  const w = "loadAbs";
  return new Instruction(Class.LD | Mode.ABS | size(sz, w, SX_SIZES), 0, 0, 0, imm32(imm, `${w}: imm`));
}

/** `r0 = ntoh(*(u8|u16|u32 *)(skb->data + src + imm))` — legacy indirect packet load. */
export function loadInd(sz: SizeValue, src: Register, imm: number): Instruction {
  const w = "loadInd";
  return new Instruction(Class.LD | Mode.IND | size(sz, w, SX_SIZES), 0, reg(src, `${w}: src`), 0, imm32(imm, `${w}: imm`));
}

function name(n: string, what: string): string {
  if (n.length === 0) throw new AsmError("ASM_INVALID_OPERAND", `${what}: empty name`);
  return n;
}
