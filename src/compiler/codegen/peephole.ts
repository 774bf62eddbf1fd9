// Peephole clean-ups on the register-assigned instructions of one block: self-moves, a move straight
// back (`r1 = r2; r2 = r1`), `wX = wX` on an already zero-extended register, and a stack store
// immediately overwritten by a store of the same size at the same offset.

import { AluOp, Class, Mode, Source } from "../../asm/opcode.js";
import type { Instruction } from "../../asm/instruction.js";

const MOV64_X = Class.ALU64 | AluOp.MOV | Source.X;
const MOV32_X = Class.ALU | AluOp.MOV | Source.X;

function isMove(i: Instruction): boolean {
  return i.opcode === MOV64_X && i.offset === 0;
}

function isStackStore(i: Instruction): boolean {
  return (i.class === Class.ST || i.class === Class.STX) && i.mode === Mode.MEM && i.dst === 10;
}

/** Registers an instruction writes (calls clobber r0-r5). */
function writes(i: Instruction): number[] {
  if (i.isCall) return [0, 1, 2, 3, 4, 5];
  if (i.isALU || i.class === Class.LDX || i.isLoadImm64) return [i.dst];
  if (i.isAtomic && (i.imm & 0x01) !== 0) return i.imm === 0xf1 ? [0] : [i.src];
  return [];
}

/** Whether the result of `i` in its dst register is known to have its upper 32 bits zero. */
function zeroExtends(i: Instruction): boolean {
  if (i.class === Class.ALU) return !(i.aluOp === AluOp.END && i.imm === 64);
  if (i.class === Class.LDX && i.mode === Mode.MEM) return i.accessBytes !== 8;
  return false;
}

/** Simplifies a block's straight-line instructions in place; returns how many were removed. */
export function peephole<T extends { insn: Instruction }>(body: T[]): number {
  let removed = 0;
  const zext = new Set<number>();
  for (let i = 0; i < body.length; i++) {
    const a = body[i].insn;
    if (isMove(a) && a.dst === a.src) {
      body.splice(i--, 1);
      removed++;
      continue;
    }
    if (a.opcode === MOV32_X && a.offset === 0 && a.dst === a.src && zext.has(a.dst)) {
      body.splice(i--, 1);
      removed++;
      continue;
    }
    if (i > 0) {
      const p = body[i - 1].insn;
      if (isMove(a) && isMove(p) && p.dst === a.src && p.src === a.dst) {
        body.splice(i--, 1);
        removed++;
        continue;
      }
    }
    if (isStackStore(a) && i + 1 < body.length) {
      const n = body[i + 1].insn;
      if (isStackStore(n) && n.offset === a.offset && n.size === a.size) {
        body.splice(i--, 1);
        removed++;
        continue;
      }
    }
    for (const r of writes(a)) zext.delete(r);
    if (zeroExtends(a)) zext.add(a.dst);
  }
  return removed;
}
