// Instruction simplification over SSA with known bits: redundant extensions and masks become copies,
// operands that only matter in their low bits skip extensions, constant offsets fold into addresses,
// multiplications by powers of two become shifts, and branches decided by known bits or comparing a
// byte-swapped value with a constant are rewritten (`bswap16(x) == 0x0800` is `x == 0x0008`).

import type { AluBits, Cond, IrInstruction, IrTerminator, Operand, VReg } from "../ir.js";
import { evalBswap } from "../ir-eval.js";
import { defOf, forEachUse, termUsesOf } from "./insn.js";
import { recurse } from "./recurse.js";
import { knownBits, signedRange, unsignedRange, type Bits, UNKNOWN } from "./known-bits.js";
import { newVreg, recomputePreds, removeUnreachable, type SsaFunction } from "./ssa.js";

const M64 = (1n << 64n) - 1n;
const COMMUTATIVE = new Set(["add", "mul", "and", "or", "xor"]);
const mask = (bits: number): bigint => (bits >= 64 ? M64 : (1n << BigInt(bits)) - 1n);

/** Whether bits `from`..63 of a value are known zero. */
function fitsIn(k: Bits, from: number): boolean {
  const high = M64 & ~mask(from);
  return (k.zero & high) === high;
}

/** Decides `a cond b` from known bits where possible. */
export function decideByBits(cond: Cond, bits: AluBits, a: Bits, b: Bits): boolean | undefined {
  const m = mask(bits);
  // Equality: a known bit that differs decides eq/ne.
  const differ = ((a.zero & b.one) | (a.one & b.zero)) & m;
  if (cond === "eq" && differ) return false;
  if (cond === "ne" && differ) return true;
  if (cond === "set") {
    if (((a.one & b.one) & m) !== 0n) return true;
    if ((((~a.zero & ~b.zero) & m) & m) === 0n) return false;
    return undefined;
  }
  const ua = unsignedRange(a, bits), ub = unsignedRange(b, bits);
  const sa = signedRange(a, bits), sb = signedRange(b, bits);
  const cmp = (x: { min: bigint; max: bigint }, y: { min: bigint; max: bigint }, strict: boolean): boolean | undefined => {
    // x < y (strict) or x <= y always / never.
    if (strict ? x.max < y.min : x.max <= y.min) return true;
    if (strict ? x.min >= y.max : x.min > y.max) return false;
    return undefined;
  };
  switch (cond) {
    case "lt": return cmp(ua, ub, true);
    case "le": return cmp(ua, ub, false);
    case "gt": return cmp(ub, ua, true);
    case "ge": return cmp(ub, ua, false);
    case "slt": return cmp(sa, sb, true);
    case "sle": return cmp(sa, sb, false);
    case "sgt": return cmp(sb, sa, true);
    case "sge": return cmp(sb, sa, false);
    default: return undefined;
  }
}

/** Runs the simplifications on `fn` in place; returns whether anything changed. */
export function simplify(fn: SsaFunction): boolean {
  const known = knownBits(fn);
  const def = new Map<VReg, IrInstruction>();
  for (const b of fn.blocks) for (const ins of b.insns) {
    const d = defOf(ins);
    if (d !== undefined) def.set(d, ins);
  }
  const kb = (o: Operand): Bits => ("imm" in o ? { zero: ~BigInt.asUintN(64, o.imm) & M64, one: BigInt.asUintN(64, o.imm) } : known.get(o.reg));
  const useCount = new Map<VReg, number>();
  const count = (v: VReg) => {
    useCount.set(v, (useCount.get(v) ?? 0) + 1);
  };
  for (const b of fn.blocks) {
    for (const p of b.phis) for (const a of p.args) if ("reg" in a) count(a.reg);
    for (const ins of b.insns) forEachUse(ins, count);
    for (const u of termUsesOf(b.term)) count(u);
  }
  let any = false;
  let cfgChanged = false;

  /** The vreg whose low `bits` bits equal those of `v`, skipping extensions and masks that keep them. */
  const lowSource = (v: VReg, bits: number): VReg => {
    for (let i = 0; i < 8; i++) {
      const d = def.get(v);
      if (!d) return v;
      if (d.op === "ext" && d.from >= bits) v = d.src;
      else if (d.op === "alu" && d.alu === "and" && "reg" in d.a && "imm" in d.b && (BigInt.asUintN(64, d.b.imm) & mask(bits)) === mask(bits)) v = d.a.reg;
      else if (d.op === "mov" && "reg" in d.src) v = d.src.reg;
      else return v;
    }
    return v;
  };
  const lowOperand = (o: Operand, bits: number): Operand => {
    if (!("reg" in o)) return o;
    const r = lowSource(o.reg, bits);
    return r === o.reg ? o : { reg: r };
  };
  // Values never 0: loads marked nonNull, small non-negative offsets from them, phis of such values.
  const phiArgs = new Map<VReg, Operand[]>();
  for (const b of fn.blocks) for (const p of b.phis) phiArgs.set(p.dst, p.args);
  const nonZeroMemo = new Map<VReg, boolean>();
  const small = (o: Operand): boolean => ("imm" in o ? BigInt.asUintN(64, o.imm) <= 0xffffn : unsignedRange(known.get(o.reg), 64).max <= 0xffffn);
  // Recursive along mov/add/phi chains (as long as the function): run on recurse's explicit stack.
  function* nonZeroStep(v: VReg): Generator<VReg, boolean, boolean> {
    const sub = function* (o: Operand): Generator<VReg, boolean, boolean> {
      if ("imm" in o) return BigInt.asUintN(64, o.imm) !== 0n;
      const m = nonZeroMemo.get(o.reg);
      return m !== undefined ? m : yield o.reg;
    };
    nonZeroMemo.set(v, false); // a cycle through phis proves nothing
    let r = (known.get(v).one & M64) !== 0n;
    const d = def.get(v);
    if (!r && d) {
      if (d.op === "load") r = d.nonNull === true;
      else if (d.op === "mov") r = yield* sub(d.src);
      else if (d.op === "alu" && d.alu === "add" && d.bits === 64) r = ((yield* sub(d.a)) && small(d.b)) || ((yield* sub(d.b)) && small(d.a));
    } else if (!r && phiArgs.has(v)) {
      r = true;
      for (const a of phiArgs.get(v)!) if (!(yield* sub(a))) { r = false; break; }
    }
    nonZeroMemo.set(v, r);
    return r;
  }
  const nonZero = (o: Operand): boolean => {
    if ("imm" in o) return BigInt.asUintN(64, o.imm) !== 0n;
    const m = nonZeroMemo.get(o.reg);
    return m !== undefined ? m : recurse(nonZeroStep, o.reg);
  };
  const copy = (ins: IrInstruction, dst: VReg, src: Operand): IrInstruction => ({ op: "mov", dst, src, ...(ins.loc ? { loc: ins.loc } : {}) });

  const rewrite = (ins: IrInstruction): IrInstruction => {
    switch (ins.op) {
      case "ext": {
        const s = known.get(ins.src);
        if (!ins.signed && fitsIn(s, ins.from)) return copy(ins, ins.dst, { reg: ins.src });
        if (ins.signed && fitsIn(s, ins.from - 1)) return copy(ins, ins.dst, { reg: ins.src });
        const sd = def.get(ins.src);
        if (ins.signed && sd && sd.op === "ext" && sd.signed && sd.from <= ins.from) return copy(ins, ins.dst, { reg: ins.src });
        if (ins.signed && sd && sd.op === "load" && sd.signed && sd.size * 8 <= ins.from) return copy(ins, ins.dst, { reg: ins.src });
        const low = lowSource(ins.src, ins.from);
        return low === ins.src ? ins : { ...ins, src: low };
      }
      case "alu": {
        const bits = ins.bits;
        let a = ins.a, b = ins.b;
        // 32-bit operations read only the low halves (shift amounts only their low bits).
        if (bits === 32) {
          a = lowOperand(a, 32);
          b = lowOperand(b, 32);
        }
        // Constants go right in commutative operations.
        if ("imm" in a && "reg" in b && COMMUTATIVE.has(ins.alu)) [a, b] = [b, a];
        const bImm = "imm" in b ? BigInt.asUintN(bits, b.imm) : undefined;
        // Identities: x+0, x-0, x|0, x^0, shifts by 0, x*1, x&~0 (a copy when the width does not truncate).
        if (bImm !== undefined && "reg" in a && (bits === 64 || fitsIn(kb(a), 32))) {
          const identity =
            (bImm === 0n && (ins.alu === "add" || ins.alu === "sub" || ins.alu === "or" || ins.alu === "xor" || ins.alu === "lsh" || ins.alu === "rsh" || ins.alu === "arsh")) ||
            (bImm === 1n && (ins.alu === "mul" || ins.alu === "div" || ins.alu === "sdiv")) ||
            (bImm === mask(bits) && ins.alu === "and");
          if (identity) return copy(ins, ins.dst, a);
        }
        if (ins.alu === "and" && bImm !== undefined && "reg" in a) {
          const ka = kb(a);
          // Bits cleared by the mask are already zero: the and is a copy (at 64 bits, or of a 32-bit-clean value).
          if (((ka.zero | bImm) & mask(bits)) === mask(bits) && (bits === 64 || fitsIn(ka, 32))) return copy(ins, ins.dst, a);
          const ad = def.get(a.reg);
          if (ad && ad.op === "alu" && ad.alu === "and" && ad.bits === bits && "imm" in ad.b && "reg" in ad.a) {
            return { ...ins, a: ad.a, b: { imm: BigInt.asUintN(bits, ad.b.imm) & bImm } };
          }
        }
        if (ins.alu === "or" && bImm !== undefined && "reg" in a && ((kb(a).one & bImm) === bImm) && (bits === 64 || fitsIn(kb(a), 32))) {
          return copy(ins, ins.dst, a);
        }
        if (ins.alu === "mul" && bImm !== undefined && bImm > 1n && (bImm & (bImm - 1n)) === 0n) {
          return { ...ins, alu: "lsh", a, b: { imm: BigInt(bImm.toString(2).length - 1) } };
        }
        if ((ins.alu === "add" || ins.alu === "sub") && bImm !== undefined && "reg" in a) {
          const c = ins.alu === "add" ? bImm : BigInt.asUintN(bits, -bImm);
          const ad = def.get(a.reg);
          // (x + c1) + c2 == x + (c1 + c2); a stack address absorbs the constant.
          if (ad && ad.op === "alu" && ad.bits === bits && (ad.alu === "add" || ad.alu === "sub") && "reg" in ad.a && "imm" in ad.b) {
            const c1 = ad.alu === "add" ? BigInt.asUintN(bits, ad.b.imm) : BigInt.asUintN(bits, -ad.b.imm);
            return { ...ins, alu: "add", a: ad.a, b: { imm: BigInt.asIntN(bits, c1 + c) } };
          }
          if (ad && ad.op === "stackAddr" && bits === 64) {
            const off = ad.offset + Number(BigInt.asIntN(64, c));
            const size = fn.slots.find((sl) => sl.id === ad.slot)?.size ?? 0;
            if (off >= 0 && off <= size) return { op: "stackAddr", dst: ins.dst, slot: ad.slot, offset: off, ...(ins.loc ? { loc: ins.loc } : {}) };
          }
        }
        if (a !== ins.a || b !== ins.b) return { ...ins, a, b };
        return ins;
      }
      case "load": case "store": case "atomic": {
        // base = x + c: fold c into the offset (eBPF addresses are base + 16-bit offset).
        const bd = def.get(ins.base);
        let out: IrInstruction = ins;
        if (bd && bd.op === "alu" && bd.bits === 64 && (bd.alu === "add" || bd.alu === "sub") && "reg" in bd.a && "imm" in bd.b && !("core" in ins && ins.core)) {
          const c = BigInt.asIntN(64, bd.alu === "add" ? bd.b.imm : -bd.b.imm);
          const off = BigInt(ins.offset) + c;
          if (off >= -32768n && off <= 32767n) out = { ...ins, base: bd.a.reg, offset: Number(off) };
        }
        if (out.op === "store" && "reg" in out.value && out.size < 8) {
          const v = lowOperand(out.value, out.size * 8);
          if (v !== out.value) out = { ...out, value: v };
        }
        return out;
      }
      default: return ins;
    }
  };

  /**
   * `x + (z + c)` with `z + c` used only here becomes `(x + z) + c`, so that the constant can fold into
   * later offsets (a pointer plus a variable header length plus a field offset).
   */
  const reassociate = (ins: IrInstruction): IrInstruction[] | undefined => {
    if (ins.op !== "alu" || ins.alu !== "add" || ins.bits !== 64 || !("reg" in ins.a) || !("reg" in ins.b)) return undefined;
    for (const [x, y] of [[ins.a.reg, ins.b.reg], [ins.b.reg, ins.a.reg]]) {
      const yd = def.get(y);
      if (!yd || yd.op !== "alu" || yd.alu !== "add" || !("reg" in yd.a) || !("imm" in yd.b) || useCount.get(y) !== 1) continue;
      // A 32-bit add is a 64-bit one when it cannot carry out of the low half.
      if (yd.bits === 32) {
        const z = known.get(yd.a.reg);
        const c = BigInt.asUintN(32, yd.b.imm);
        if (!fitsIn(z, 32) || unsignedRange(z, 32).max + c > 0xffffffffn) continue;
      }
      const c = yd.bits === 32 ? BigInt.asUintN(32, yd.b.imm) : BigInt.asIntN(64, yd.b.imm);
      if (c < -0x80000000n || c > 0x7fffffffn) continue;
      const t = newVreg(fn);
      const loc = ins.loc ? { loc: ins.loc } : {};
      useCount.set(y, 0);
      return [
        { op: "alu", alu: "add", bits: 64, dst: t, a: { reg: x }, b: yd.a, ...loc },
        { op: "alu", alu: "add", bits: 64, dst: ins.dst, a: { reg: t }, b: { imm: c }, ...loc },
      ];
    }
    return undefined;
  };

  const rewriteTerm = (t: IrTerminator): IrTerminator => {
    if (t.op !== "br") return t;
    let a = t.a, b = t.b;
    if (t.bits === 32) {
      a = lowSource(a, 32);
      b = lowOperand(b, 32);
    }
    let decided = decideByBits(t.cond, t.bits, kb({ reg: a }), kb(b));
    if (decided === undefined && t.bits === 64 && (t.cond === "eq" || t.cond === "ne") && "imm" in b && BigInt.asUintN(64, b.imm) === 0n && nonZero({ reg: a })) {
      decided = t.cond === "ne";
    }
    if (decided !== undefined) return { op: "jmp", target: decided ? t.then : t.else, ...(t.loc ? { loc: t.loc } : {}) };
    // bswap(x) ==/!= K  ->  x ==/!= bswap(K), when the comparison sees exactly the swapped bytes.
    if ((t.cond === "eq" || t.cond === "ne") && "imm" in b) {
      const d = def.get(a);
      // Only when the swap then goes away: otherwise both values stay live for nothing.
      if (d && d.op === "bswap" && useCount.get(a) === 1) {
        const k = BigInt.asUintN(t.bits, b.imm);
        const sk = known.get(d.src);
        const width = d.bits;
        if (width <= t.bits || t.bits === 32) {
          // The compared part of bswap(x) is bswap of x's low `width` bits (zero above `width`).
          const seen = Math.min(width, t.bits);
          if (width > t.bits) {
            // bswap64 under a 32-bit compare: the low half comes from x's high half; not handled.
          } else if (k > mask(seen)) {
            return { op: "jmp", target: t.cond === "ne" ? t.then : t.else, ...(t.loc ? { loc: t.loc } : {}) };
          } else if (width === t.bits || fitsIn(sk, width)) {
            return { ...t, a: d.src, b: { imm: BigInt.asIntN(64, evalBswap(width, k)) } };
          }
        }
      }
    }
    if (a !== t.a || b !== t.b) return { ...t, a, b };
    return t;
  };

  for (const b of fn.blocks) {
    const out: IrInstruction[] = [];
    for (const ins of b.insns) {
      const r = rewrite(ins);
      if (r !== ins) {
        any = true;
        const d = defOf(r);
        if (d !== undefined) def.set(d, r);
      }
      const split = reassociate(r);
      if (split) {
        any = true;
        for (const x of split) {
          def.set(defOf(x)!, x);
          out.push(x);
        }
      } else out.push(r);
    }
    b.insns = out;
    const t = rewriteTerm(b.term);
    if (t !== b.term) {
      any = true;
      if (t.op !== b.term.op) cfgChanged = true;
      b.term = t;
    }
  }
  // Branches turned into jumps may leave blocks unreachable.
  if (cfgChanged && !removeUnreachable(fn)) recomputePreds(fn);
  return any;
}
