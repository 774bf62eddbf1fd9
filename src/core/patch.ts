// Applies a computed CO-RE relocation to its instruction: ALU immediate, load/store offset (and access
// size), ld_imm64 constant, or the poison call `call 0xbad2310` when the relocation could not be satisfied.

import { Instruction } from "../asm/instruction.js";
import { AluOp, Class, OP_CALL, Source, sizeBytes, sizeForBytes } from "../asm/opcode.js";
import { CoreError } from "../errors.js";
import type { CoreRelocationResult } from "./calculate.js";
import { describeRelo } from "./spec.js";
import type { Btf } from "../btf/btf.js";

/**
 * Helper id of the poison call (0xbad2310, "bad relo"). A reachable poisoned instruction makes the
 * verifier fail with "invalid func unknown#195896080"; an unreachable one is removed as dead code.
 */
export const CORE_POISON_HELPER_ID = 0xbad2310;

/** Turn `insn` into the poison call, keeping its metadata (symbol, source). */
function poisonInto(insn: Instruction): void {
  insn.opcode = OP_CALL;
  insn.dst = 0;
  insn.src = 0;
  insn.offset = 0;
  insn.constant = BigInt(CORE_POISON_HELPER_ID);
  delete insn.reference;
}

/** A fresh poison call instruction. */
export function corePoisonInstruction(): Instruction {
  return new Instruction(OP_CALL, 0, 0, 0, CORE_POISON_HELPER_ID);
}

/** Is `insn` the poison call a failed CO-RE relocation leaves behind? */
export function isCorePoison(insn: Instruction): boolean {
  return insn.opcode === OP_CALL && insn.src === 0 && insn.constant === BigInt(CORE_POISON_HELPER_ID);
}

/**
 * Patch `insn` with a relocation result, in place. Returns the instructions that now occupy its slots:
 * `[insn]`, or for a poisoned ld_imm64 `[insn, poison]` (two one-slot calls, so slot offsets and jumps
 * stay valid).
 *
 * - poison: the instruction becomes `call 0xbad2310`.
 * - ALU/ALU64 with an immediate: imm := value (checked against the original value unless not validated).
 * - LDX/ST/STX: offset := value (must fit in 16 bits). When the field's size changed, the access size
 *   is adjusted — only allowed for unsigned ints and pointers; otherwise the instruction is poisoned.
 * - ld_imm64: the 64-bit constant := value.
 *
 * `localBtf` is only used to name the relocation's type in messages.
 * @throws CoreError `CORE_BAD_INSN` (unexpected instruction or current value), `CORE_OFFSET_TOO_BIG`.
 */
export function applyCoreRelocation(insn: Instruction, result: CoreRelocationResult, localBtf?: Btf): Instruction[] {
  const where = (): string => {
    const base = localBtf ? describeRelo(result.relo, localBtf, result.context) : `CO-RE relocation (kind ${result.kind}) at insn ${result.relo.insnOff / 8}`;
    return `${base}: patching ${insn.toString()}`;
  };
  const fail = (code: string, cause: string): never => {
    throw new CoreError(code, `${where()}: ${cause}`);
  };
  const poison = (): Instruction[] => {
    if (insn.isLoadImm64) {
      poisonInto(insn);
      return [insn, corePoisonInstruction()];
    }
    poisonInto(insn);
    return [insn];
  };
  if (result.poison) return poison();

  const orig = result.origValue;
  const value = result.value;
  switch (insn.class) {
    case Class.ALU:
    case Class.ALU64: {
      if (insn.sourceBit !== Source.K || insn.aluOp === AluOp.END || insn.aluOp === AluOp.NEG) {
        fail("CORE_BAD_INSN", "an ALU relocation needs an instruction with an immediate operand");
      }
      const current = BigInt.asUintN(64, BigInt.asIntN(32, insn.constant));
      if (result.validate && current !== orig) fail("CORE_BAD_INSN", `immediate is ${insn.imm}, expected ${orig} (the local value)`);
      insn.constant = BigInt.asIntN(32, value);
      return [insn];
    }
    case Class.LDX:
    case Class.ST:
    case Class.STX: {
      const current = BigInt.asUintN(64, BigInt(insn.offset));
      if (result.validate && current !== orig) fail("CORE_BAD_INSN", `offset is ${insn.offset}, expected ${orig} (the local value)`);
      if (value > 0x7fffn) fail("CORE_OFFSET_TOO_BIG", `new offset ${value} does not fit in the 16-bit offset field`);
      if (result.failMemSizeAdjust) {
        // The field changed size and is not an unsigned int or a pointer: the access cannot be fixed up.
        return poison();
      }
      insn.offset = Number(value);
      if (result.fieldSize !== result.origSize) {
        const have = sizeBytes(insn.size);
        if (have !== result.origSize) fail("CORE_BAD_INSN", `accesses ${have} bytes, expected ${result.origSize} (the local field size)`);
        const size = sizeForBytes(result.fieldSize);
        if (size === undefined) fail("CORE_BAD_INSN", `the target field is ${result.fieldSize} bytes, which no load/store can access`);
        insn.opcode = (insn.opcode & ~0x18) | size!;
      }
      return [insn];
    }
    case Class.LD: {
      if (!insn.isLoadImm64 || insn.src !== 0 || insn.offset !== 0) {
        fail("CORE_BAD_INSN", "only a plain ld_imm64 (no pseudo source, offset 0) can be relocated in the LD class");
      }
      const current = BigInt.asUintN(64, insn.constant);
      if (result.validate && current !== orig) fail("CORE_BAD_INSN", `constant is ${current}, expected ${orig} (the local value)`);
      insn.constant = BigInt.asIntN(64, value);
      return [insn];
    }
    default:
      return fail("CORE_BAD_INSN", "CO-RE relocations apply to ALU immediates, loads/stores and ld_imm64 only");
  }
}
