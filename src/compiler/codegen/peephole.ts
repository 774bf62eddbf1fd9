// Peephole clean-ups on the register-assigned instructions of one block: self-moves, a move straight
// back (`r1 = r2; r2 = r1`), `wX = wX` on an already zero-extended register, a stack store
// immediately overwritten by a store of the same size at the same offset, and a reload of a stack
// word whose value is still in a register (`*(u64 *)(r10 -8) = r6; r1 = *(u64 *)(r10 -8)` -> `r1 = r6`).

import { AluOp, Class, Mode, Source } from "../../asm/opcode.js";
import { Instruction } from "../../asm/instruction.js";

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

/** A 64-bit r10-based load or store: its frame offset. */
function stackWord(i: Instruction, cls: number): number | undefined {
  return i.class === cls && i.mode === Mode.MEM && i.accessBytes === 8 && (cls === Class.LDX ? i.src : i.dst) === 10 ? i.offset : undefined;
}

/**
 * Replaces reloads of stack words whose value is still in a register by register moves (or nothing).
 * Knowledge is dropped at calls, at stores through other registers and at overlapping stack stores.
 */
function forwardStack<T extends { insn: Instruction }>(body: T[]): number {
  let changed = 0;
  const held = new Map<number, number>(); // frame offset -> register holding that 8-byte word
  const forgetReg = (r: number) => {
    for (const [off, reg] of held) if (reg === r) held.delete(off);
  };
  for (let i = 0; i < body.length; i++) {
    const a = body[i].insn;
    const ld = stackWord(a, Class.LDX);
    if (ld !== undefined) {
      const r = held.get(ld);
      if (r !== undefined) {
        const mov = new Instruction(MOV64_X, a.dst, r, 0, 0n);
        if (a.source) mov.source = a.source;
        body[i].insn = mov;
        changed++;
        if (a.dst !== r) forgetReg(a.dst);
        continue;
      }
      forgetReg(a.dst);
      held.set(ld, a.dst);
      continue;
    }
    const st = stackWord(a, Class.STX);
    if (st !== undefined) {
      for (const off of [...held.keys()]) if (off > st - 8 && off < st + 8) held.delete(off);
      held.set(st, a.src);
      continue;
    }
    if (a.class === Class.ST || a.class === Class.STX) {
      if (a.dst === 10) {
        const n = a.accessBytes ?? 8;
        for (const off of [...held.keys()]) if (off > a.offset - 8 && off < a.offset + n) held.delete(off);
      } else held.clear(); // may point into the stack (atomics included)
      if (a.isAtomic) for (const r of writes(a)) forgetReg(r);
      continue;
    }
    if (a.isCall) {
      held.clear();
      continue;
    }
    for (const r of writes(a)) forgetReg(r);
  }
  return changed;
}

/**
 * Whether the r10-based store at `i` is overwritten (the same bytes, by later r10-based stores of this
 * block) before anything may read them: an overlapping stack load, a load or store through another
 * register (it may point into the stack), or a call.
 */
function overwrittenBeforeRead<T extends { insn: Instruction }>(body: T[], i: number): boolean {
  const a = body[i].insn;
  const lo = a.offset, hi = a.offset + (a.accessBytes ?? 8);
  for (let j = i + 1; j < body.length; j++) {
    const n = body[j].insn;
    if (n.isCall) return false;
    if (n.class === Class.LDX) {
      if (n.src !== 10) return false;
      const nlo = n.offset, nhi = n.offset + (n.accessBytes ?? 8);
      if (nlo < hi && nhi > lo) return false;
      continue;
    }
    if (n.class === Class.ST || n.class === Class.STX) {
      if (n.dst !== 10 || n.mode !== Mode.MEM) return false;
      if (n.offset <= lo && n.offset + (n.accessBytes ?? 8) >= hi) return true;
      continue;
    }
  }
  return false;
}

/** Simplifies a block's straight-line instructions in place; returns how many were removed. */
export function peephole<T extends { insn: Instruction }>(body: T[]): number {
  forwardStack(body);
  // Kept instructions are compacted to body[0..w) (a splice per removal is quadratic in long blocks);
  // body[i + 1..] still holds the instructions not yet visited.
  let w = 0;
  const zext = new Set<number>();
  for (let i = 0; i < body.length; i++) {
    const a = body[i].insn;
    if (isMove(a) && a.dst === a.src) continue;
    if (a.opcode === MOV32_X && a.offset === 0 && a.dst === a.src && zext.has(a.dst)) continue;
    if (w > 0) {
      const p = body[w - 1].insn;
      if (isMove(a) && isMove(p) && p.dst === a.src && p.src === a.dst) continue;
    }
    if (isStackStore(a) && overwrittenBeforeRead(body, i)) continue;
    for (const r of writes(a)) zext.delete(r);
    if (zeroExtends(a)) zext.add(a.dst);
    body[w++] = body[i];
  }
  const removed = body.length - w;
  body.length = w;
  return removed;
}
