// SSA clean-ups: copy propagation (register copies and constants), trivial phi removal, and dead code
// elimination of pure instructions and phis whose values are never used.

import type { IrInstruction, Operand, VReg } from "../ir.js";
import { defOf, forEachUse, hasEffect, mapTermUses, mapUses, sameOperand, termUsesOf } from "./insn.js";
import type { SsaFunction } from "./ssa.js";

/**
 * Replaces every use of a copied vreg by its source (constants only where immediates are allowed),
 * and phis whose arguments are all the same value (or the phi itself) by that value. Returns whether
 * anything changed.
 */
export function propagateCopies(fn: SsaFunction): boolean {
  const repl = new Map<VReg, Operand>();
  const resolve = (o: Operand): Operand => {
    let cur = o;
    for (let i = 0; "reg" in cur && i < 1000; i++) {
      const r = repl.get(cur.reg);
      if (!r) break;
      cur = r;
    }
    return cur;
  };
  let any = false;
  // Collect copies and trivial phis until stable (a phi may become trivial once its args resolve).
  for (let changed = true; changed;) {
    changed = false;
    for (const b of fn.blocks) {
      for (const phi of b.phis) {
        if (repl.has(phi.dst)) continue;
        let same: Operand | undefined;
        let trivial = true;
        for (const a of phi.args) {
          const r = resolve(a);
          if ("reg" in r && r.reg === phi.dst) continue;
          if (same === undefined) same = r;
          else if (!sameOperand(same, r)) {
            trivial = false;
            break;
          }
        }
        if (trivial && same !== undefined) {
          repl.set(phi.dst, same);
          changed = true;
        }
      }
      for (const ins of b.insns) {
        if (ins.op !== "mov" || repl.has(ins.dst)) continue;
        const r = resolve(ins.src);
        if ("reg" in r && r.reg === ins.dst) continue;
        repl.set(ins.dst, r);
        changed = true;
      }
    }
  }
  if (repl.size === 0) return false;
  const f = (v: VReg): Operand | undefined => {
    const r = repl.get(v);
    return r ? resolve(r) : undefined;
  };
  for (const b of fn.blocks) {
    const head: typeof b.insns = [];
    b.phis = b.phis.filter((phi) => {
      const r = repl.get(phi.dst);
      if (!r) return true;
      any = true;
      // A phi of one constant stays defined (reg-only uses keep reading it) as a move.
      const v = resolve(r);
      if ("imm" in v) head.push({ op: "mov", dst: phi.dst, src: v });
      return false;
    });
    for (const phi of b.phis) {
      phi.args = phi.args.map((a) => {
        if (!("reg" in a)) return a;
        const r = f(a.reg);
        if (r && !sameOperand(r, a)) {
          any = true;
          return r;
        }
        return a;
      });
    }
    const insns = b.insns.map((ins) => {
      const r = mapUses(ins, f);
      if (r !== ins) any = true;
      // A register copy whose source is resolved stays (dead unless a reg-only use needs a constant).
      return r;
    });
    b.insns = [...head, ...insns];
    const t = mapTermUses(b.term, f);
    if (t !== b.term) {
      any = true;
      b.term = t;
    }
  }
  return any;
}

/** Removes pure instructions and phis whose results are never used; returns whether anything was removed. */
export function eliminateDead(fn: SsaFunction): boolean {
  const defSite = new Map<VReg, IrInstruction | Operand[]>();
  const live = new Set<VReg>();
  const work: VReg[] = [];
  const mark = (v: VReg) => {
    if (!live.has(v)) {
      live.add(v);
      work.push(v);
    }
  };
  for (const b of fn.blocks) {
    for (const phi of b.phis) defSite.set(phi.dst, phi.args);
    for (const ins of b.insns) {
      const d = defOf(ins);
      if (hasEffect(ins)) forEachUse(ins, mark);
      else if (d !== undefined) defSite.set(d, ins);
    }
    for (const u of termUsesOf(b.term)) mark(u);
  }
  while (work.length) {
    const d = defSite.get(work.pop()!);
    if (d === undefined) continue;
    if (Array.isArray(d)) {
      for (const a of d) if ("reg" in a) mark(a.reg);
    } else forEachUse(d, mark);
  }
  let any = false;
  for (const b of fn.blocks) {
    const np = b.phis.filter((p) => live.has(p.dst));
    if (np.length !== b.phis.length) any = true;
    b.phis = np;
    const ni = b.insns.filter((ins) => {
      if (hasEffect(ins)) return true;
      const d = defOf(ins);
      return d === undefined || live.has(d);
    });
    if (ni.length !== b.insns.length) any = true;
    b.insns = ni;
  }
  return any;
}
