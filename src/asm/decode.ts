// Decoder from little-endian eBPF bytecode (8-byte slots; ld_imm64 takes two) to Instructions,
// plus the slot <-> instruction index mapping the loader uses for ELF relocation offsets.

import { AsmError } from "../errors.js";
import { Instruction } from "./instruction.js";
import { OP_LD_IMM64 } from "./opcode.js";

/** Size of one instruction slot in bytes. */
export const SLOT_SIZE = 8;

/** Options of `decode`. */
export interface DecodeOptions {
  /** Byte offset of `bytes` within its container (e.g. an ELF section), added to offsets in errors. */
  baseOffset?: number;
  /** What is being decoded, for error messages (e.g. `section "xdp"`). */
  what?: string;
  /** Symbols to attach: byte offset within `bytes` -> name, set as `symbol` on that instruction. */
  symbols?: ReadonlyMap<number, string>;
}

/**
 * Decodes bytecode into instructions. Unknown opcodes are kept as raw one-slot instructions so that
 * `encode` reproduces the input exactly. Throws AsmError (ASM_BAD_LENGTH) if the length is not a
 * multiple of 8, (ASM_TRUNCATED) if an ld_imm64 lacks its second slot, and (ASM_BAD_LD_IMM64) if the
 * second slot has anything but next_imm set, or a symbol points inside an ld_imm64.
 */
export function decode(bytes: Uint8Array, opts: DecodeOptions = {}): Instruction[] {
  const base = opts.baseOffset ?? 0;
  const what = opts.what ?? "bytecode";
  if (bytes.byteLength % SLOT_SIZE !== 0) {
    throw new AsmError(
      "ASM_BAD_LENGTH",
      `decode ${what}: length ${bytes.byteLength} is not a multiple of ${SLOT_SIZE}; trailing ${bytes.byteLength % SLOT_SIZE} bytes at offset ${base + bytes.byteLength - (bytes.byteLength % SLOT_SIZE)}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  const symbolAt = new Map<number, number>(); // byte offset -> instruction index
  for (let pos = 0; pos < bytes.byteLength; ) {
    const opcode = view.getUint8(pos);
    const regs = view.getUint8(pos + 1);
    const offset = view.getInt16(pos + 2, true);
    const imm = view.getInt32(pos + 4, true);
    let constant = BigInt(imm);
    if (opcode === OP_LD_IMM64) {
      const second = pos + SLOT_SIZE;
      if (second >= bytes.byteLength) {
        throw new AsmError("ASM_TRUNCATED", `decode ${what}: ld_imm64 at offset ${base + pos} is missing its second slot`);
      }
      if (view.getUint8(second) !== 0 || view.getUint8(second + 1) !== 0 || view.getInt16(second + 2, true) !== 0) {
        throw new AsmError(
          "ASM_BAD_LD_IMM64",
          `decode ${what}: second slot of ld_imm64 at offset ${base + pos} has a non-zero opcode, register or offset field`,
        );
      }
      const hi = BigInt(view.getUint32(second + 4, true));
      constant = BigInt.asIntN(64, (hi << 32n) | BigInt(imm >>> 0));
    }
    const insn = new Instruction(opcode, regs & 0x0f, regs >> 4, offset, constant);
    symbolAt.set(pos, out.length);
    out.push(insn);
    pos += insn.slots * SLOT_SIZE;
  }
  if (opts.symbols) {
    for (const [byteOff, name] of opts.symbols) {
      const idx = symbolAt.get(byteOff);
      if (idx === undefined) {
        throw new AsmError(
          "ASM_BAD_SYMBOL",
          `decode ${what}: symbol "${name}" at offset ${base + byteOff} is not at an instruction boundary`,
        );
      }
      out[idx].symbol = name;
    }
  }
  return out;
}

/** For each instruction, the slot index it starts at (ld_imm64 counts as two slots). */
export function slotOffsets(insns: readonly Instruction[]): number[] {
  const out = new Array<number>(insns.length);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = slot;
    slot += insns[i].slots;
  }
  return out;
}

/** Total number of slots the instructions occupy. */
export function slotCount(insns: readonly Instruction[]): number {
  let n = 0;
  for (const insn of insns) n += insn.slots;
  return n;
}

/**
 * The index of the instruction starting at `slot`, or undefined if no instruction starts there (past
 * the end, or the second half of an ld_imm64). Accepts the instructions or a precomputed `slotOffsets`
 * array (faster for repeated look-ups: binary search).
 */
export function instructionAtSlot(insnsOrOffsets: readonly Instruction[] | readonly number[], slot: number): number | undefined {
  if (!Number.isInteger(slot) || slot < 0 || insnsOrOffsets.length === 0) return undefined;
  const offsets =
    typeof insnsOrOffsets[0] === "number" ? (insnsOrOffsets as readonly number[]) : slotOffsets(insnsOrOffsets as readonly Instruction[]);
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = offsets[mid];
    if (v === slot) return mid;
    if (v < slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** The index of the instruction starting at byte offset `byteOffset`, or undefined (see instructionAtSlot). */
export function instructionAtByte(insnsOrOffsets: readonly Instruction[] | readonly number[], byteOffset: number): number | undefined {
  if (byteOffset % SLOT_SIZE !== 0) return undefined;
  return instructionAtSlot(insnsOrOffsets, byteOffset / SLOT_SIZE);
}
