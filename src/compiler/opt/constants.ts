// Sharing of wide constants: a 64-bit value that does not fit an instruction's 32-bit immediate costs
// a two-slot ld_imm64 at every use; used more than once, it is loaded once into a vreg placed where it
// dominates every use (the register allocator re-materializes it if it cannot keep it in a register).

import type { SourceLocation } from "../../asm/instruction.js";
import type { BlockId, IrFunction, IrInstruction, IrTerminator, Operand, VReg } from "../ir.js";
import { dominators, termSuccessors } from "./cfg.js";

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;

function wide(o: Operand): bigint | undefined {
  if (!("imm" in o)) return undefined;
  const s = BigInt.asIntN(64, o.imm);
  return s < I32_MIN || s > I32_MAX ? s : undefined;
}

/** Returns `fn` with every wide constant used at least twice (64-bit ALU operand, 64-bit compare) in one vreg. */
export function shareWideConstants(fn: IrFunction): IrFunction {
  const uses = new Map<bigint, BlockId[]>();
  const firstLoc = new Map<bigint, SourceLocation>();
  const note = (v: bigint | undefined, b: BlockId, loc: SourceLocation | undefined) => {
    if (v === undefined) return;
    (uses.get(v) ?? uses.set(v, []).get(v)!).push(b);
    if (loc && !firstLoc.has(v)) firstLoc.set(v, loc);
  };
  for (const b of fn.blocks) {
    for (const ins of b.instructions) {
      if (ins.op === "alu" && ins.bits === 64) note(wide(ins.b), b.id, ins.loc);
    }
    const t = b.terminator;
    if (t.op === "br" && t.bits === 64) note(wide(t.b), b.id, t.loc);
  }
  const shared = [...uses].filter(([, bs]) => bs.length >= 2);
  if (shared.length === 0) return fn;
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const dom = dominators({ entry: fn.blocks[0].id, succ: (id) => termSuccessors(by.get(id)!.terminator) });
  const depth = new Map<BlockId, number>();
  for (const id of dom.rpo) depth.set(id, id === dom.rpo[0] ? 0 : depth.get(dom.idom.get(id)!)! + 1);
  const ncd = (a: BlockId, b: BlockId): BlockId => {
    while (a !== b) {
      if (depth.get(a)! >= depth.get(b)!) a = dom.idom.get(a)!;
      else b = dom.idom.get(b)!;
    }
    return a;
  };
  let next = fn.vregCount;
  const regOf = new Map<bigint, VReg>();
  const head = new Map<BlockId, IrInstruction[]>();
  for (const [v, bs] of shared) {
    if (bs.some((b) => !depth.has(b))) continue;
    const at = bs.reduce(ncd);
    const r = next++;
    regOf.set(v, r);
    const loc = firstLoc.get(v);
    (head.get(at) ?? head.set(at, []).get(at)!).push({ op: "mov", dst: r, src: { imm: v }, ...(loc ? { loc } : {}) });
  }
  const sub = (o: Operand): Operand => {
    const w = wide(o);
    const r = w === undefined ? undefined : regOf.get(w);
    return r === undefined ? o : { reg: r };
  };
  const blocks = fn.blocks.map((b) => {
    const instructions = b.instructions.map((ins): IrInstruction => (ins.op === "alu" && ins.bits === 64 && wide(ins.b) !== undefined ? { ...ins, b: sub(ins.b) } : ins));
    const t = b.terminator;
    const terminator: IrTerminator = t.op === "br" && t.bits === 64 && wide(t.b) !== undefined ? { ...t, b: sub(t.b) } : t;
    return { id: b.id, instructions: [...(head.get(b.id) ?? []), ...instructions], terminator };
  });
  return { ...fn, blocks, vregCount: next };
}
