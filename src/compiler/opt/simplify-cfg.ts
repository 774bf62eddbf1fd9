// Control-flow clean-up of (non-SSA) IR: jumps into a branch on a vreg the predecessor just set to a
// constant go straight to the decided target, empty forwarding blocks are bypassed, and a block with a
// single predecessor that jumps to it is merged into that predecessor.

import type { BlockId, IrBlock, IrFunction, IrTerminator, Operand, VReg } from "../ir.js";
import { evalCond } from "../ir-eval.js";
import { retarget, termSuccessors } from "./cfg.js";
import { defOf } from "./insn.js";
import { appendAll } from "./recurse.js";

/** The constant a block leaves in `v` (its last definition there is `mov v, imm`), if any. */
function constAtEnd(b: IrBlock, v: VReg): bigint | undefined {
  for (let i = b.instructions.length - 1; i >= 0; i--) {
    const ins = b.instructions[i];
    if (defOf(ins) !== v) continue;
    return ins.op === "mov" && "imm" in ins.src ? BigInt.asUintN(64, ins.src.imm) : undefined;
  }
  return undefined;
}

function operandAtEnd(b: IrBlock, o: Operand): bigint | undefined {
  return "imm" in o ? BigInt.asUintN(64, o.imm) : constAtEnd(b, o.reg);
}

/** Where a jump from `p` into `target` really goes: through empty jump blocks and decided branches. */
function threadTarget(p: IrBlock, target: BlockId, by: Map<BlockId, IrBlock>, entry: BlockId, stats: CfgStats): BlockId {
  const seen = new Set<BlockId>();
  let cur = target;
  for (;;) {
    if (seen.has(cur) || cur === entry) return cur;
    seen.add(cur);
    const b = by.get(cur)!;
    if (b.instructions.length !== 0) return cur;
    const t = b.terminator;
    if (t.op === "jmp") {
      cur = t.target;
      continue;
    }
    if (t.op === "br") {
      const a = constAtEnd(p, t.a);
      const c = operandAtEnd(p, t.b);
      if (a === undefined || c === undefined) return cur;
      cur = evalCond(t.cond, t.bits, a, c) ? t.then : t.else;
      stats.decided++;
      continue;
    }
    return cur;
  }
}

/**
 * Simplifies the control flow of `fn` (a new function; `fn` is not modified). Jump threading only
 * looks at the constant a predecessor leaves in the branch's register, so it is valid without SSA.
 */
/** What {@link simplifyCfg} did. */
export interface CfgStats {
  /** Branches a jump was threaded through because the predecessor decided them. */
  decided: number;
}

export function simplifyCfg(fn: IrFunction, stats: CfgStats = { decided: 0 }): IrFunction {
  let blocks: IrBlock[] = fn.blocks.map((b) => ({ id: b.id, instructions: [...b.instructions], terminator: b.terminator }));
  const entry = blocks[0].id;
  for (let changed = true; changed;) {
    changed = false;
    const by = new Map(blocks.map((b) => [b.id, b]));
    // Thread jumps (unconditional edges only: the decided branch reads the predecessor's constant).
    for (const b of blocks) {
      const t = b.terminator;
      if (t.op === "jmp") {
        const nt = threadTarget(b, t.target, by, entry, stats);
        if (nt !== t.target) {
          b.terminator = { ...t, target: nt };
          changed = true;
        }
      } else if (t.op === "br") {
        // Conditional edges only skip empty jump-only blocks.
        const skip = (id: BlockId): BlockId => {
          const seen = new Set<BlockId>();
          let cur = id;
          for (;;) {
            const x = by.get(cur)!;
            if (seen.has(cur) || cur === entry || x.instructions.length || x.terminator.op !== "jmp") return cur;
            seen.add(cur);
            cur = x.terminator.target;
          }
        };
        const th = skip(t.then), el = skip(t.else);
        if (th !== t.then || el !== t.else) {
          let nt: IrTerminator = retarget(t, t.then, th);
          nt = nt.op === "br" ? retarget(nt, t.else, el) : nt;
          if (nt.op === "br" && (nt.then !== th || nt.else !== el)) nt = { ...nt, then: th, else: el };
          b.terminator = nt.op === "br" && nt.then === nt.else ? { op: "jmp", target: nt.then, ...(t.loc ? { loc: t.loc } : {}) } : nt;
          changed = true;
        }
      }
    }
    // Drop unreachable blocks.
    const seen = new Set<BlockId>();
    const stack = [entry];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...termSuccessors(by.get(id)!.terminator));
    }
    if (seen.size !== blocks.length) {
      blocks = blocks.filter((b) => seen.has(b.id));
      changed = true;
    }
    // Merge a block into its only predecessor when that predecessor jumps to it.
    const preds = new Map<BlockId, BlockId[]>(blocks.map((b) => [b.id, []]));
    for (const b of blocks) for (const s of termSuccessors(b.terminator)) preds.get(s)!.push(b.id);
    const gone = new Set<BlockId>();
    for (const b of blocks) {
      if (gone.has(b.id)) continue;
      for (;;) {
        const t = b.terminator;
        if (t.op !== "jmp" || t.target === entry || t.target === b.id) break;
        const ps = preds.get(t.target)!;
        if (ps.length !== 1) break;
        const s = by.get(t.target)!;
        appendAll(b.instructions, s.instructions);
        b.terminator = s.terminator;
        gone.add(s.id);
        for (const x of termSuccessors(s.terminator)) preds.set(x, preds.get(x)!.map((p) => (p === s.id ? b.id : p)));
        changed = true;
      }
    }
    if (gone.size) blocks = blocks.filter((b) => !gone.has(b.id));
  }
  return { ...fn, blocks };
}
