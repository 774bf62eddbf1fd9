// Sparse conditional constant propagation (Wegman-Zadeck, iterated densely over the small functions
// we compile): constants folded with eBPF semantics, branches decided, unreachable blocks removed.

import type { BlockId, Cond, IrInstruction, Operand, VReg } from "../ir.js";
import { evalAlu, evalBswap, evalCond, evalExt, evalNeg } from "../ir-eval.js";
import { retarget, termSuccessors } from "./cfg.js";
import { defOf, hasEffect, mapTermUses, mapUses } from "./insn.js";
import { recomputePreds, removeUnreachable, type SsaFunction } from "./ssa.js";

/** Lattice value: undefined = not yet known (top), a bigint constant (unsigned 64-bit), or BOTTOM. */
const BOTTOM = "bottom" as const;
type Lat = undefined | bigint | typeof BOTTOM;

function meet(a: Lat, b: Lat): Lat {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === BOTTOM || b === BOTTOM) return BOTTOM;
  return a === b ? a : BOTTOM;
}

/** Evaluates an instruction over constants; BOTTOM when not a foldable pure operation. */
export function foldInsn(ins: IrInstruction, get: (o: Operand) => Lat): Lat {
  switch (ins.op) {
    case "mov": return get(ins.src);
    case "alu": {
      const a = get(ins.a), b = get(ins.b);
      // x * 0, x & 0 are 0 whatever x is; x - x, x ^ x are 0.
      if ((ins.alu === "mul" || ins.alu === "and") && (a === 0n || b === 0n)) return 0n;
      if ((ins.alu === "sub" || ins.alu === "xor") && "reg" in ins.a && "reg" in ins.b && ins.a.reg === ins.b.reg) return 0n;
      if (a === BOTTOM || b === BOTTOM) return BOTTOM;
      if (a === undefined || b === undefined) return undefined;
      return evalAlu(ins.alu, ins.bits, a, b);
    }
    case "neg": case "ext": case "bswap": {
      const a = get({ reg: ins.src });
      if (a === BOTTOM || a === undefined) return a;
      return ins.op === "neg" ? evalNeg(ins.bits, a) : ins.op === "ext" ? evalExt(ins.from, ins.signed, a) : evalBswap(ins.bits, a);
    }
    default: return BOTTOM;
  }
}

/** The outcome of `a cond b` if known: true, false, or undefined. */
function decide(cond: Cond, bits: 32 | 64, a: Lat, b: Lat, same: boolean): boolean | undefined {
  if (same && cond !== "set") return cond === "eq" || cond === "ge" || cond === "le" || cond === "sge" || cond === "sle";
  if (typeof a === "bigint" && typeof b === "bigint") return evalCond(cond, bits, a, b);
  return undefined;
}

/**
 * Runs SCCP on `fn` in place: every vreg found constant is substituted into immediate positions and
 * its definition replaced by `mov dst, imm`; decided branches become jumps; dead blocks are dropped.
 * Returns whether anything changed.
 */
export function sccp(fn: SsaFunction): boolean {
  const lat = new Map<VReg, Lat>();
  for (const p of fn.params) lat.set(p, BOTTOM);
  const get = (o: Operand): Lat => ("imm" in o ? BigInt.asUintN(64, o.imm) : lat.get(o.reg));
  const execBlocks = new Set<BlockId>([fn.blocks[0].id]);
  const execEdges = new Set<number>();
  const edge = (a: BlockId, b: BlockId) => a * 1048576 + b;
  const set = (v: VReg, x: Lat): boolean => {
    const old = lat.get(v);
    const nv = meet(old, x);
    if (nv === old) return false;
    lat.set(v, nv);
    return true;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const b of fn.blocks) {
      if (!execBlocks.has(b.id)) continue;
      for (const phi of b.phis) {
        let v: Lat = undefined;
        b.preds.forEach((p, k) => {
          if (execEdges.has(edge(p, b.id))) v = meet(v, get(phi.args[k]));
        });
        if (v !== undefined && set(phi.dst, v)) changed = true;
      }
      for (const ins of b.insns) {
        const d = defOf(ins);
        if (d === undefined) continue;
        const v = foldInsn(ins, get);
        if (v !== undefined && set(d, v)) changed = true;
      }
      const t = b.term;
      let targets: BlockId[] = termSuccessors(t);
      if (t.op === "br") {
        const a = lat.get(t.a), bb = get(t.b);
        if (a === undefined || bb === undefined) targets = [];
        else {
          const r = decide(t.cond, t.bits, a, bb, "reg" in t.b && t.b.reg === t.a);
          if (r !== undefined) targets = [r ? t.then : t.else];
        }
      }
      for (const s of targets) {
        const e = edge(b.id, s);
        if (!execEdges.has(e)) {
          execEdges.add(e);
          execBlocks.add(s);
          changed = true;
        }
      }
    }
  }

  // Rewrite.
  let any = false;
  let cfgChanged = false;
  const constOf = (v: VReg): bigint | undefined => {
    const x = lat.get(v);
    return typeof x === "bigint" ? x : undefined;
  };
  const subst = (v: VReg): Operand | undefined => {
    const c = constOf(v);
    return c === undefined ? undefined : { imm: c };
  };
  for (const b of fn.blocks) {
    if (!execBlocks.has(b.id)) continue;
    for (const phi of b.phis) {
      phi.args = phi.args.map((a) => ("reg" in a && constOf(a.reg) !== undefined ? { imm: constOf(a.reg)! } : a));
    }
    b.insns = b.insns.map((ins) => {
      const d = defOf(ins);
      if (d !== undefined && !hasEffect(ins) && ins.op !== "coreValue") {
        const c = constOf(d);
        if (c !== undefined && !(ins.op === "mov" && "imm" in ins.src && BigInt.asUintN(64, ins.src.imm) === c)) {
          any = true;
          return { op: "mov", dst: d, src: { imm: c }, ...(ins.loc ? { loc: ins.loc } : {}) };
        }
      }
      const r = mapUses(ins, subst);
      if (r !== ins) any = true;
      return r;
    });
    const t = b.term;
    if (t.op === "br") {
      const live = termSuccessors(t).filter((s) => execEdges.has(edge(b.id, s)));
      if (live.length === 1) {
        b.term = { op: "jmp", target: live[0], ...(t.loc ? { loc: t.loc } : {}) };
        any = cfgChanged = true;
        continue;
      }
      if (live.length === 0) {
        // Unreached branch (its operands never became defined): keep the else edge only.
        b.term = retarget(t, t.then, t.else);
        any = cfgChanged = true;
        continue;
      }
    }
    const nt = mapTermUses(b.term, subst);
    if (nt !== b.term) {
      // A branch's left operand must stay a register; mapTermUses only substitutes `b` and `ret`.
      b.term = nt;
      any = true;
    }
  }
  if (removeUnreachable(fn)) any = true;
  else if (cfgChanged) recomputePreds(fn);
  return any;
}
