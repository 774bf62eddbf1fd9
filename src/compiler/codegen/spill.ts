// Spill rewriting: nodes that got no register live in 8-byte aligned stack slots (reloaded before each
// use, stored after each def), or are re-materialized at each use when defined by a constant/address.

import { AluOp, Class, Size, Source } from "../../asm/opcode.js";
import { loadMem, storeImm, storeMem } from "../../asm/load-store.js";
import type { Instruction } from "../../asm/instruction.js";
import { FP, newNode, type FrameRef, type MFunction, type MInsn, type Node } from "./mir.js";

/** Instructions after a def or reload during which a spilled value is read from its temporary. */
const REUSE_WINDOW = 3;

/** `dst = imm` as a 64-bit move (`mov` with a sign-extended 32-bit immediate). */
function isMovImm32(i: Instruction): boolean {
  return i.opcode === (Class.ALU64 | AluOp.MOV | Source.K);
}

function cloneInsn(i: MInsn): MInsn {
  const c: MInsn = { ...i, insn: i.insn.clone(), defs: [...i.defs], uses: [...i.uses] };
  return c;
}

function reload(dst: Node, slot: FrameRef, from: MInsn): MInsn {
  const m: MInsn = { insn: loadMem(Size.DW, 0, 0, 0), dst, src: FP, defs: [dst], uses: [], frame: slot };
  if (from.loc) m.loc = from.loc;
  return m;
}

function store(src: Node, slot: FrameRef, from: MInsn): MInsn {
  const m: MInsn = { insn: storeMem(Size.DW, 0, 0, 0), dst: FP, src, defs: [], uses: [src], frame: slot, effect: true };
  if (from.loc) m.loc = from.loc;
  return m;
}

/**
 * Rewrites `fn` so that each group of (coalesced, hence non-interfering) nodes lives in memory: one
 * shared 8-byte spill slot per group, or re-materialization when the group has a single
 * re-materializable definition. Groups `a`, `b` (indices) for which `interfere(a, b)` is false may share
 * a slot. Spill temporaries are added to `fn.noSpill`.
 */
export function spillGroups(fn: MFunction, groups: readonly (readonly Node[])[], interfere: (a: number, b: number) => boolean = () => true): void {
  const slotOf = new Map<Node, FrameRef>();
  const rematOf = new Map<Node, MInsn>();
  const groupOf = new Map<Node, number>();
  const shared: { ref: FrameRef; groups: number[] }[] = [];
  groups.forEach((members, gi) => {
    for (const v of members) groupOf.set(v, gi);
    const defs: MInsn[] = [];
    for (const b of fn.blocks) for (const i of b.insns) if (i.defs.some((d) => members.includes(d))) defs.push(i);
    if (defs.length === 1 && defs[0].remat && defs[0].defs.length === 1) {
      for (const v of members) rematOf.set(v, defs[0]);
      return;
    }
    let home = shared.find((sl) => sl.groups.every((o) => !interfere(o, gi)));
    if (!home) {
      home = { ref: { kind: "spill", index: fn.spillSlots++ }, groups: [] };
      shared.push(home);
    }
    home.groups.push(gi);
    for (const v of members) slotOf.set(v, home.ref);
  });
  const isRematDef = new Set(rematOf.values());

  for (const b of fn.blocks) {
    const out: MInsn[] = [];
    // A spilled value just written or reloaded in this block stays in its temporary for the next few
    // instructions: a use there reads the temporary instead of reloading (short, call-free windows).
    const recent = new Map<number, { t: Node; at: number }>();
    let k = 0;
    for (const ins of b.insns) {
      k++;
      if (ins.insn.isCall) recent.clear();
      if (isRematDef.has(ins)) continue;
      const touched = [...new Set([...ins.uses, ...ins.defs].filter((x) => groupOf.has(x)))];
      if (touched.length === 0) {
        out.push(ins);
        continue;
      }
      if (ins.move) {
        const d = ins.dst!;
        const s = ins.src!;
        const gd = groupOf.get(d);
        const gs = groupOf.get(s);
        if (gd !== undefined && gd === gs) continue; // same slot (or same value): nothing to do
        if (gd === undefined && gs !== undefined) {
          const r = rematOf.get(s);
          if (r) {
            const c = cloneInsn(r);
            c.dst = d;
            c.defs = [d];
            if (ins.loc) c.loc = ins.loc;
            out.push(c);
          } else out.push(reload(d, slotOf.get(s)!, ins));
          continue;
        }
        if (gd !== undefined && gs === undefined && slotOf.has(d)) {
          out.push(store(s, slotOf.get(d)!, ins));
          recent.delete(gd);
          continue;
        }
      }
      // A spilled value set from a 32-bit-representable constant is stored as an immediate (BPF_ST).
      if (ins.remat && ins.defs.length === 1 && touched.length === 1 && slotOf.has(ins.defs[0]) && isMovImm32(ins.insn)) {
        const m: MInsn = { insn: storeImm(Size.DW, 0, 0, ins.insn.constant), dst: FP, defs: [], uses: [], frame: slotOf.get(ins.defs[0])!, effect: true };
        if (ins.loc) m.loc = ins.loc;
        out.push(m);
        recent.delete(groupOf.get(ins.defs[0])!);
        continue;
      }
      const c = cloneInsn(ins);
      const after: MInsn[] = [];
      for (const x of touched) {
        const t = newNode(fn);
        fn.noSpill.add(t);
        const used = ins.uses.includes(x);
        const defined = ins.defs.includes(x);
        let tt = t;
        const g = groupOf.get(x)!;
        const near = slotOf.has(x) ? recent.get(g) : undefined;
        if (used) {
          const r = rematOf.get(x);
          if (r) {
            const rc = cloneInsn(r);
            rc.dst = t;
            rc.defs = [t];
            if (ins.loc) rc.loc = ins.loc;
            out.push(rc);
          } else if (near && k - near.at <= REUSE_WINDOW && !ins.insn.isCall) {
            tt = near.t;
          } else {
            out.push(reload(t, slotOf.get(x)!, ins));
            recent.set(g, { t, at: k });
          }
        }
        if (defined) {
          const slot = slotOf.get(x);
          if (slot) {
            after.push(store(tt, slot, ins));
            if (!ins.insn.isCall) recent.set(g, { t: tt, at: k });
          }
        }
        if (c.dst === x) c.dst = tt;
        if (c.src === x) c.src = tt;
        c.uses = c.uses.map((u) => (u === x ? tt : u));
        c.defs = c.defs.map((u) => (u === x ? tt : u));
      }
      out.push(c, ...after);
    }
    const t = b.term;
    if (t.kind === "br") {
      const fix = (x: Node): Node => {
        if (!groupOf.has(x)) return x;
        const n = newNode(fn);
        fn.noSpill.add(n);
        const r = rematOf.get(x);
        const at: MInsn = { insn: loadMem(Size.DW, 0, 0, 0), defs: [], uses: [] };
        if (t.loc) at.loc = t.loc;
        if (r) {
          const rc = cloneInsn(r);
          rc.dst = n;
          rc.defs = [n];
          if (t.loc) rc.loc = t.loc;
          out.push(rc);
        } else out.push(reload(n, slotOf.get(x)!, at));
        return n;
      };
      t.a = fix(t.a);
      if (typeof t.b !== "bigint") t.b = fix(t.b);
    }
    b.insns = out;
  }
}
