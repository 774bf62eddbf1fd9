// Known-bits analysis over SSA: for every vreg, the bits known to be 0 and known to be 1 in its 64-bit
// value (loads zero-extend, 32-bit ALU results clear the upper half, masks, shifts, carries of adds).
// Only facts the kernel verifier also derives are used (Linux 5.1 onwards): checks removed on their
// strength would otherwise be missing where the verifier needs a bound (a packet offset, a size).
// So byte swaps, divisions, shifts by a register and helper results count as unknown.

import type { IrInstruction, Operand, VReg } from "../ir.js";
import { defOf } from "./insn.js";
import { recurse } from "./recurse.js";
import type { SsaFunction } from "./ssa.js";

const M64 = (1n << 64n) - 1n;

/** Known bits of a 64-bit value: `zero` has the bits known 0, `one` the bits known 1 (disjoint). */
export interface Bits {
  readonly zero: bigint;
  readonly one: bigint;
}

/** Nothing known. */
export const UNKNOWN: Bits = { zero: 0n, one: 0n };

/** Everything known: the constant `c`. */
export function constBits(c: bigint): Bits {
  const v = BigInt.asUintN(64, c);
  return { zero: ~v & M64, one: v };
}

const mask = (bits: number): bigint => (bits >= 64 ? M64 : (1n << BigInt(bits)) - 1n);

/** Restricts to the low `bits` bits, the rest known zero. */
function trunc(k: Bits, bits: number): Bits {
  const m = mask(bits);
  return { zero: (k.zero & m) | (~m & M64), one: k.one & m };
}

/** The constant, if every bit is known. */
export function bitsConst(k: Bits): bigint | undefined {
  return (k.zero | k.one) === M64 ? k.one : undefined;
}

/** Unsigned bounds at `bits` width. */
export function unsignedRange(k: Bits, bits: number): { min: bigint; max: bigint } {
  const m = mask(bits);
  return { min: k.one & m, max: ~k.zero & m };
}

/** Signed bounds at `bits` width. */
export function signedRange(k: Bits, bits: number): { min: bigint; max: bigint } {
  const m = mask(bits);
  const sign = 1n << BigInt(bits - 1);
  const lo = k.one & m, hi = ~k.zero & m;
  const signKnown0 = (k.zero & sign) !== 0n, signKnown1 = (k.one & sign) !== 0n;
  const s = (x: bigint) => BigInt.asIntN(bits, x);
  if (signKnown0) return { min: s(lo), max: s(hi) };
  if (signKnown1) return { min: s(lo), max: s(hi) };
  // Sign unknown: the minimum sets the sign bit, the maximum clears it.
  return { min: s(lo | sign), max: s(hi & ~sign) };
}

/** Number of low bits known zero. */
function trailingZeros(k: Bits): number {
  let n = 0;
  while (n < 64 && (k.zero >> BigInt(n)) & 1n) n++;
  return n;
}

function addBits(a: Bits, b: Bits, bits: number, carryZero: boolean, carryOne: boolean): Bits {
  const m = mask(bits);
  const possibleSumZero = (~a.zero & m) + (~b.zero & m) + (carryZero ? 0n : 1n);
  const possibleSumOne = (a.one & m) + (b.one & m) + (carryOne ? 1n : 0n);
  const carryKnownZero = ~(possibleSumZero ^ a.zero ^ b.zero);
  const carryKnownOne = possibleSumOne ^ a.one ^ b.one;
  const known = (a.zero | a.one) & (b.zero | b.one) & (carryKnownZero | carryKnownOne) & m;
  return trunc({ zero: ~possibleSumOne & known, one: possibleSumOne & known }, bits);
}

/** Known bits of `op` applied to known operands (all results are truncated to the ALU width). */
export function aluBits(op: string, bits: 32 | 64, a: Bits, b: Bits, bConst: bigint | undefined): Bits {
  const ta = trunc(a, bits), tb = trunc(b, bits);
  const w = BigInt(bits);
  switch (op) {
    case "and": return trunc({ zero: ta.zero | tb.zero, one: ta.one & tb.one }, bits);
    case "or": return trunc({ zero: ta.zero & tb.zero, one: ta.one | tb.one }, bits);
    case "xor": {
      const known = (ta.zero | ta.one) & (tb.zero | tb.one);
      const v = ta.one ^ tb.one;
      return trunc({ zero: ~v & known, one: v & known }, bits);
    }
    case "add": return addBits(ta, tb, bits, true, false);
    case "sub": return addBits(ta, { zero: tb.one, one: tb.zero | (~mask(bits) & M64) }, bits, false, true);
    case "lsh": case "rsh": case "arsh": {
      if (bConst === undefined) return trunc(UNKNOWN, bits);
      const s = bConst & (w - 1n);
      const m = mask(bits);
      if (op === "lsh") return trunc({ zero: ((ta.zero << s) | ((1n << s) - 1n)) & m, one: (ta.one << s) & m }, bits);
      if (op === "rsh") return trunc({ zero: ((ta.zero & m) >> s) | (~(m >> s) & m), one: (ta.one & m) >> s }, bits);
      // Arithmetic: the sign bit's state fills the vacated high bits.
      const sign = 1n << (w - 1n);
      const fill = ~(m >> s) & m;
      const z = ((ta.zero & m) >> s) | ((ta.zero & sign) !== 0n ? fill : 0n);
      const o = ((ta.one & m) >> s) | ((ta.one & sign) !== 0n ? fill : 0n);
      return trunc({ zero: z, one: o }, bits);
    }
    case "mul": {
      const tz = Math.min(bits, trailingZeros(ta) + trailingZeros(tb));
      let zero = mask(tz);
      const maxA = ~ta.zero & mask(bits), maxB = ~tb.zero & mask(bits);
      const prod = maxA * maxB;
      // (The verifier bounds a product only when both factors are below 2^32.)
      if (maxA <= 0xffffffffn && maxB <= 0xffffffffn && prod <= mask(bits)) zero |= ~mask(prod.toString(2).length) & mask(bits);
      return trunc({ zero, one: 0n }, bits);
    }
    default: return trunc(UNKNOWN, bits);
  }
}

/** Known bits of an instruction's result given its operands' known bits. */
export function insnBits(ins: IrInstruction, of: (o: Operand) => Bits): Bits {
  switch (ins.op) {
    case "mov": return of(ins.src);
    case "alu": return aluBits(ins.alu, ins.bits, of(ins.a), of(ins.b), "imm" in ins.b ? BigInt.asUintN(64, ins.b.imm) : undefined);
    case "ext": {
      const s = of({ reg: ins.src });
      if (!ins.signed) return trunc(s, ins.from);
      const sign = 1n << BigInt(ins.from - 1);
      const high = M64 & ~mask(ins.from);
      const low = trunc(s, ins.from);
      if (s.zero & sign) return low;
      if (s.one & sign) return { zero: low.zero & ~high, one: low.one | high };
      return { zero: low.zero & ~high, one: low.one };
    }
    case "bswap": return UNKNOWN; // older verifiers know nothing of a swapped value
    case "neg": return trunc(UNKNOWN, ins.bits);
    case "load": return ins.signed && ins.size < 8 ? UNKNOWN : trunc(UNKNOWN, ins.size * 8);
    case "call": case "atomic": return UNKNOWN;
    default: return UNKNOWN;
  }
}

/** Known bits of vregs, computed on demand. */
export interface KnownBits {
  get(v: VReg): Bits;
}

/**
 * Known bits of the vregs of an SSA function, computed lazily from their definitions (a phi reached
 * again while it is being computed, i.e. through a loop, counts as unknown), without recursion.
 */
export function knownBits(fn: SsaFunction): KnownBits {
  const def = new Map<VReg, IrInstruction | Operand[]>();
  for (const b of fn.blocks) {
    for (const p of b.phis) def.set(p.dst, p.args);
    for (const ins of b.insns) {
      const d = defOf(ins);
      if (d !== undefined) def.set(d, ins);
    }
  }
  const memo = new Map<VReg, Bits>();
  const busy = new Set<VReg>();
  const known = (o: Operand): Bits => ("imm" in o ? constBits(o.imm) : memo.get(o.reg) ?? UNKNOWN);
  /** Whether `v` still has to be computed (the recursion would descend into it). */
  const pending = (o: Operand): o is { reg: VReg } => "reg" in o && !memo.has(o.reg) && def.has(o.reg) && !busy.has(o.reg);
  // One level of the computation; the operands it needs are yielded first (a def chain is as long as
  // the function, so the recursion runs on recurse's explicit stack).
  function* step(v: VReg): Generator<VReg, Bits, Bits> {
    const d = def.get(v)!;
    busy.add(v);
    let k: Bits;
    if (Array.isArray(d)) {
      let acc: Bits | undefined;
      for (const a of d) {
        const x = pending(a) ? yield a.reg : known(a);
        acc = acc ? { zero: acc.zero & x.zero, one: acc.one & x.one } : x;
        if (acc.zero === 0n && acc.one === 0n) break;
      }
      k = acc ?? UNKNOWN;
    } else {
      // insnBits reads every register operand, in this order.
      const ops: Operand[] = d.op === "mov" ? [d.src] : d.op === "alu" ? [d.a, d.b] : d.op === "ext" ? [{ reg: d.src }] : [];
      for (const o of ops) if (pending(o)) yield o.reg;
      k = insnBits(d, known);
    }
    busy.delete(v);
    memo.set(v, k);
    return k;
  }
  function get(v: VReg): Bits {
    const m = memo.get(v);
    if (m) return m;
    if (!def.has(v) || busy.has(v)) return UNKNOWN;
    return recurse(step, v);
  }
  return { get };
}
