// Applies all CO-RE relocations of one section (or program) to its instructions: maps each record's byte
// offset to an instruction, computes the value against the target BTF(s) and patches the instruction.

import type { Instruction } from "../asm/instruction.js";
import type { Btf } from "../btf/btf.js";
import type { BtfCoreRelo } from "../btf/types.js";
import { CoreError } from "../errors.js";
import type { CoreRelocationResult } from "./calculate.js";
import { calculateCoreRelocation } from "./calculate.js";
import type { CoreCandidate, CoreTargets } from "./candidates.js";
import { resolveTargets } from "./candidates.js";
import { applyCoreRelocation } from "./patch.js";
import { describeRelo } from "./spec.js";

export { calculateCoreRelocation } from "./calculate.js";
export type { CalculateOptions, CoreRelocationResult } from "./calculate.js";
export { applyCoreRelocation, CORE_POISON_HELPER_ID, corePoisonInstruction, isCorePoison } from "./patch.js";

/** Options of {@link relocateProgram}. */
export interface RelocateOptions {
  /** Byte offset of `insns[0]` within the section the records' insnOff refer to (default 0). */
  readonly startOffset?: number;
  /**
   * Candidate cache keyed by local type id; pass the same map to every relocateProgram call of one
   * object (same local BTF and targets) to search each type's candidates once.
   */
  readonly candidateCache?: Map<number, CoreCandidate[]>;
}

/** Outcome of {@link relocateProgram}. */
export interface RelocatedProgram {
  /**
   * The instructions after patching: the same (mutated) Instruction objects, plus one extra poison call
   * after each poisoned ld_imm64 so that slot offsets are unchanged.
   */
  readonly insns: Instruction[];
  /** One result per relocation record, in record order. */
  readonly results: readonly CoreRelocationResult[];
  /** Index (into the returned `insns`) of each record's instruction. */
  readonly indices: readonly number[];
}

/**
 * Byte offset of each instruction (ld_imm64 takes two 8-byte slots), starting at `start`.
 */
export function instructionOffsets(insns: readonly Instruction[], start = 0): number[] {
  const out = new Array<number>(insns.length);
  let off = start;
  for (let i = 0; i < insns.length; i++) {
    out[i] = off;
    off += insns[i].isLoadImm64 ? 16 : 8;
  }
  return out;
}

/**
 * Relocate the instructions of one ELF section (or one program of it) in place.
 *
 * @param insns the section's instructions, decoded (they are mutated).
 * @param relos the section's CO-RE records (.BTF.ext), insnOff in bytes from the section start.
 * @param localBtf the object's BTF (.BTF).
 * @param targets the kernel's BTF, optionally with module BTFs (see {@link CoreTargets}).
 * @param sectionName the section (or program) name, for messages.
 * @throws CoreError for a record that points between instructions or outside them
 *   (`CORE_BAD_INSN_OFFSET`) and for any relocation that fails to compute or apply.
 */
export function relocateProgram(
  insns: Instruction[],
  relos: readonly BtfCoreRelo[],
  localBtf: Btf,
  targets: CoreTargets,
  sectionName: string,
  options: RelocateOptions = {},
): RelocatedProgram {
  const start = options.startOffset ?? 0;
  const offsets = instructionOffsets(insns, start);
  const byOffset = new Map<number, number>();
  offsets.forEach((off, i) => byOffset.set(off, i));
  const resolved = resolveTargets(targets);
  const cache = options.candidateCache ?? new Map<number, CoreCandidate[]>();

  const results: CoreRelocationResult[] = [];
  const at: number[] = [];
  const extra = new Map<number, Instruction[]>();
  relos.forEach((relo, index) => {
    const context = { section: sectionName, index };
    const i = byOffset.get(relo.insnOff);
    if (i === undefined) {
      const end = insns.length ? offsets[offsets.length - 1] + (insns[insns.length - 1].isLoadImm64 ? 16 : 8) : start;
      throw new CoreError(
        "CORE_BAD_INSN_OFFSET",
        `${describeRelo(relo, localBtf, context)}: byte offset ${relo.insnOff} is not the start of an instruction (instructions span [${start}, ${end}))`,
      );
    }
    const result = calculateCoreRelocation(relo, localBtf, resolved, { context, candidateCache: cache });
    const slots = applyCoreRelocation(insns[i], result, localBtf);
    if (slots.length > 1) extra.set(i, slots.slice(1));
    results.push(result);
    at.push(i);
  });

  if (extra.size === 0) return { insns, results, indices: at };
  const out: Instruction[] = [];
  const newIndex = new Array<number>(insns.length);
  insns.forEach((insn, i) => {
    newIndex[i] = out.length;
    out.push(insn);
    const more = extra.get(i);
    if (more) out.push(...more);
  });
  return { insns: out, results, indices: at.map((i) => newIndex[i]) };
}
