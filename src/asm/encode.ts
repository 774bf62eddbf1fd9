// Encoder from Instructions to little-endian eBPF bytecode (exact inverse of decode), and the
// resolver that turns symbolic jump/call targets (`reference` -> `symbol`) into slot offsets.

import { AsmError } from "../errors.js";
import type { Instruction } from "./instruction.js";
import { SLOT_SIZE, slotCount, slotOffsets } from "./decode.js";

const I32_MIN = -(2n ** 31n);
const U32_MAX = 2n ** 32n - 1n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

function bad(index: number, slot: number, detail: string): AsmError {
  return new AsmError("ASM_INVALID_FIELD", `encode instruction ${index} (slot ${slot}): ${detail}`);
}

function field(value: unknown, min: number, max: number, name: string, index: number, slot: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw bad(index, slot, `${name} ${String(value)} is outside ${min}..${max}`);
  }
  return value;
}

/**
 * Encodes instructions into bytecode: 8 bytes per slot, ld_imm64 as two slots with next_imm in the
 * second. Metadata (symbol, reference, source) is not encoded; call `resolveReferences` first if jumps
 * use labels. Throws AsmError (ASM_INVALID_FIELD) naming the instruction if a field does not fit:
 * opcode 0..255, registers 0..15, offset -32768..32767, constant within 32 (or 64 for ld_imm64) bits —
 * signed or unsigned.
 */
export function encode(insns: readonly Instruction[]): Uint8Array {
  const out = new Uint8Array(slotCount(insns) * SLOT_SIZE);
  const view = new DataView(out.buffer);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const pos = slot * SLOT_SIZE;
    const opcode = field(insn.opcode, 0, 255, "opcode", i, slot);
    const dst = field(insn.dst, 0, 15, "dst register", i, slot);
    const src = field(insn.src, 0, 15, "src register", i, slot);
    const offset = field(insn.offset, -32768, 32767, "offset", i, slot);
    const c = insn.constant;
    if (typeof c !== "bigint") throw bad(i, slot, `constant ${String(c)} is not a bigint`);
    view.setUint8(pos, opcode);
    view.setUint8(pos + 1, (src << 4) | dst);
    view.setInt16(pos + 2, offset, true);
    if (insn.slots === 2) {
      if (c < I64_MIN || c > U64_MAX) throw bad(i, slot, `64-bit constant ${c} does not fit in 64 bits`);
      view.setUint32(pos + 4, Number(BigInt.asUintN(32, c)), true);
      view.setUint32(pos + 12, Number(BigInt.asUintN(32, c >> 32n)), true);
    } else {
      if (c < I32_MIN || c > U32_MAX) throw bad(i, slot, `constant ${c} does not fit in 32 bits`);
      view.setUint32(pos + 4, Number(BigInt.asUintN(32, c)), true);
    }
    slot += insn.slots;
  }
  return out;
}

/**
 * Resolves symbolic targets in place and returns the same array. For every instruction with a
 * `reference` that is a jump (offset field), a gotol or bpf-to-bpf call (imm) or a PSEUDO_FUNC ld_imm64
 * (imm), the target is the instruction whose `symbol` equals the reference; the stored value is
 * `targetSlot - (slot + 1)`. Other references (maps, kfuncs, BTF ids) are left for the loader.
 * Throws AsmError: ASM_DUPLICATE_SYMBOL, ASM_UNRESOLVED_REFERENCE (label missing) or
 * ASM_OUT_OF_RANGE (a 16-bit jump offset overflows; use gotol).
 */
export function resolveReferences<T extends Instruction[] | readonly Instruction[]>(insns: T): T {
  const slots = slotOffsets(insns);
  const symbols = new Map<string, number>();
  insns.forEach((insn, i) => {
    if (insn.symbol === undefined) return;
    const prev = symbols.get(insn.symbol);
    if (prev !== undefined) {
      throw new AsmError("ASM_DUPLICATE_SYMBOL", `resolve references: symbol "${insn.symbol}" is defined at slot ${prev} and at slot ${slots[i]}`);
    }
    symbols.set(insn.symbol, slots[i]);
  });
  insns.forEach((insn, i) => {
    const ref = insn.reference;
    if (ref === undefined) return;
    const usesImm = insn.isGotol || insn.isPseudoCall || insn.isLoadFunc;
    if (!usesImm && !insn.isJump) return;
    const target = symbols.get(ref);
    if (target === undefined) {
      throw new AsmError("ASM_UNRESOLVED_REFERENCE", `resolve references: instruction ${i} (slot ${slots[i]}) refers to "${ref}", which is not defined`);
    }
    const delta = target - (slots[i] + 1);
    if (usesImm) {
      insn.imm = delta;
    } else {
      if (delta < -32768 || delta > 32767) {
        throw new AsmError(
          "ASM_OUT_OF_RANGE",
          `resolve references: jump at instruction ${i} (slot ${slots[i]}) to "${ref}" spans ${delta} slots, beyond a 16-bit offset; use gotol`,
        );
      }
      insn.offset = delta;
    }
  });
  return insns;
}
