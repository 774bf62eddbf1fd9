// Peephole clean-ups on the register-assigned instructions of one block: self-moves and a move
// straight back (`r1 = r2; r2 = r1`) disappear.

import { AluOp, Class, Source } from "../../asm/opcode.js";
import type { Instruction } from "../../asm/instruction.js";

const MOV64_X = Class.ALU64 | AluOp.MOV | Source.X;

function isMove(i: Instruction): boolean {
  return i.opcode === MOV64_X && i.offset === 0;
}

/** Simplifies a block's straight-line instructions in place; returns how many were removed. */
export function peephole<T extends { insn: Instruction }>(body: T[]): number {
  let removed = 0;
  for (let i = 0; i < body.length; i++) {
    const a = body[i].insn;
    if (isMove(a) && a.dst === a.src) {
      body.splice(i--, 1);
      removed++;
      continue;
    }
    if (i > 0) {
      const p = body[i - 1].insn;
      if (isMove(a) && isMove(p) && p.dst === a.src && p.src === a.dst) {
        body.splice(i--, 1);
        removed++;
      }
    }
  }
  return removed;
}
