// Links an entry function with every subprogram it reaches (calls and callback addresses),
// appending them after it and rewriting pc-relative offsets, as the kernel expects one program.

import type { Instruction } from "../asm/instruction.js";
import { PSEUDO_FUNC } from "../asm/opcode.js";
import { ObjectError } from "../errors.js";
import type { FunctionBody } from "./functions.js";
import type { InstructionMeta } from "./spec.js";

/** Index of every function by `${sectionIndex}:${startSlot}`. */
export type FunctionIndex = ReadonlyMap<string, FunctionBody>;

export function functionKey(section: number, slot: number): string {
  return `${section}:${slot}`;
}

export interface LinkedProgram {
  readonly instructions: Instruction[];
  readonly metas: InstructionMeta[];
  readonly functions: string[];
}

/** Link `entry` with the transitive closure of the functions it calls. Instructions are cloned. */
export function linkProgram(entry: FunctionBody, index: FunctionIndex): LinkedProgram {
  const order: FunctionBody[] = [entry];
  const base = new Map<FunctionBody, number>([[entry, 0]]);
  let slots = entry.instructions.reduce((n, i) => n + i.slots, 0);
  for (let k = 0; k < order.length; k++) {
    const fn = order[k]!;
    for (const c of fn.calls) {
      const target = index.get(functionKey(c.targetSection, c.targetSlot));
      if (!target) {
        throw new ObjectError("OBJ_BAD_CALL", `function "${fn.name}" ${c.kind === "call" ? "calls" : "takes the address of"} code at section ${c.targetSection} offset ${c.targetSlot * 8}, where no function starts`);
      }
      if (!base.has(target)) {
        base.set(target, slots);
        order.push(target);
        slots += target.instructions.reduce((n, i) => n + i.slots, 0);
      }
    }
  }
  const instructions: Instruction[] = [];
  const metas: InstructionMeta[] = [];
  for (const fn of order) {
    const fnBase = base.get(fn)!;
    const slotOf: number[] = [];
    let s = fnBase;
    for (const ins of fn.instructions) { slotOf.push(s); s += ins.slots; }
    const copies = fn.instructions.map((i) => i.clone());
    const metaCopies = fn.metas.map((m) => ({ ...m }));
    for (const c of fn.calls) {
      const target = index.get(functionKey(c.targetSection, c.targetSlot))!;
      const rel = base.get(target)! - (slotOf[c.insn]! + 1);
      const ins = copies[c.insn]!;
      if (c.kind === "func") {
        // ld_imm64: the offset goes in the low 32 bits only; the high half must stay zero.
        ins.constant = BigInt.asUintN(32, BigInt(rel));
        ins.src = PSEUDO_FUNC;
      } else {
        ins.constant = BigInt(rel);
      }
    }
    // Not push(...copies): a spread puts every instruction on the stack (overflows past ~100k).
    for (const c of copies) instructions.push(c);
    for (const m of metaCopies) metas.push(m);
  }
  return { instructions, metas, functions: order.map((f) => f.name) };
}
