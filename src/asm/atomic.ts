// Builders for STX | ATOMIC instructions: add/or/and/xor (optionally fetching), xchg, cmpxchg,
// load-acquire and store-release. The operation is encoded in imm.

import { Instruction } from "./instruction.js";
import { AtomicOp, Class, Mode, Size, type AtomicOpValue, type SizeValue } from "./opcode.js";
import type { Register } from "./register.js";
import { off16, oneOf, reg } from "./values.js";

const ATOMIC_OPS: readonly number[] = [
  AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR,
  AtomicOp.FETCH_ADD, AtomicOp.FETCH_OR, AtomicOp.FETCH_AND, AtomicOp.FETCH_XOR,
  AtomicOp.XCHG, AtomicOp.CMPXCHG, AtomicOp.LOAD_ACQ, AtomicOp.STORE_REL,
];

/**
 * An atomic read-modify-write on `*(u32|u64 *)(dst + off)` with operand `src`:
 * - ADD/OR/AND/XOR: `lock *(u64 *)(dst + off) += src` (and so on);
 * - FETCH_*: same, and `src` receives the old value: `src = atomic_fetch_add((u64 *)(dst + off), src)`;
 * - XCHG: `src = atomic_xchg((u64 *)(dst + off), src)`;
 * - CMPXCHG: `r0 = atomic_cmpxchg((u64 *)(dst + off), r0, src)`;
 * - LOAD_ACQ: `dst = load_acquire((size *)(src + off))` (8/16-bit sizes allowed, 6.15+);
 * - STORE_REL: `store_release((size *)(dst + off), src)` (8/16-bit sizes allowed, 6.15+).
 */
export function atomic(op: AtomicOpValue, sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  const w = "atomic";
  const o = oneOf(op, ATOMIC_OPS, `${w}: operation`);
  const ordered = o === AtomicOp.LOAD_ACQ || o === AtomicOp.STORE_REL;
  const s = oneOf(sz, ordered ? [Size.B, Size.H, Size.W, Size.DW] : [Size.W, Size.DW], `${w}: size`);
  return new Instruction(Class.STX | Mode.ATOMIC | s, reg(dst, `${w}: dst`), reg(src, `${w}: src`), off16(off, `${w}: offset`), BigInt(o));
}

/** `dst = load_acquire((size *)(src + off))` — load with acquire ordering (6.15+). */
export function loadAcquire(sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  return atomic(AtomicOp.LOAD_ACQ, sz, dst, src, off);
}

/** `store_release((size *)(dst + off), src)` — store with release ordering (6.15+). */
export function storeRelease(sz: SizeValue, dst: Register, src: Register, off: number): Instruction {
  return atomic(AtomicOp.STORE_REL, sz, dst, src, off);
}
