// Lays compiled functions out in their ELF sections and turns their symbolic references (maps, global
// data, calls, callbacks, kfuncs, ksyms) into encoded instructions plus REL entries, as clang writes them.

import { encode } from "../../asm/encode.js";
import type { Instruction } from "../../asm/instruction.js";
import { OP_CALL, OP_LD_IMM64, PseudoCall, PseudoLoad } from "../../asm/opcode.js";
import { R_BPF_64_32, R_BPF_64_64 } from "../../elf/types.js";
import { AsmError } from "../../errors.js";
import type { CompiledExtern, CompiledFunction, CompiledGlobal, CompiledMap } from "../module.js";
import { emitError } from "./errors.js";

/** What a name in the module refers to. */
export type Named =
  | { readonly kind: "map"; readonly map: CompiledMap }
  | { readonly kind: "global"; readonly global: CompiledGlobal }
  | { readonly kind: "function"; readonly fn: CompiledFunction }
  | { readonly kind: "extern"; readonly ext: CompiledExtern };

/** A function placed in its section. */
export interface PlacedFunction {
  readonly fn: CompiledFunction;
  readonly section: string;
  /** First slot (8-byte unit) within the section. */
  readonly startSlot: number;
  readonly slots: number;
  /** Slot of each instruction relative to the function start. */
  readonly slotOf: readonly number[];
}

/** An executable section and the functions in it, in module order. */
export interface CodeSection {
  readonly name: string;
  readonly functions: readonly PlacedFunction[];
  readonly slots: number;
}

/** A relocation against a section symbol (`{ section }`) or a named symbol (`{ name }`). */
export interface PendingRelocation {
  /** Byte offset in the code section. */
  readonly offset: number;
  readonly type: number;
  readonly target: { readonly section: string } | { readonly name: string };
}

/** Section for subprograms (libbpf requires call targets there). */
export const TEXT = ".text";
const DATA_SECTIONS = new Set([".data", ".rodata", ".bss"]);

/** Group functions by section: `.text` first, then program sections in order of first appearance. */
export function layoutCode(functions: readonly CompiledFunction[]): { sections: CodeSection[]; placed: Map<string, PlacedFunction> } {
  const bySection = new Map<string, PlacedFunction[]>();
  const slotsIn = new Map<string, number>();
  const order = [...new Set(functions.map((f) => f.section))].sort((a, b) => (a === TEXT ? -1 : b === TEXT ? 1 : 0));
  for (const s of order) { bySection.set(s, []); slotsIn.set(s, 0); }
  const placed = new Map<string, PlacedFunction>();
  for (const fn of functions) {
    const start = slotsIn.get(fn.section)!;
    const slotOf: number[] = [];
    let slot = 0;
    for (const insn of fn.instructions) {
      slotOf.push(slot);
      slot += insn.opcode === OP_LD_IMM64 ? 2 : 1;
    }
    const p: PlacedFunction = { fn, section: fn.section, startSlot: start, slots: slot, slotOf };
    bySection.get(fn.section)!.push(p);
    slotsIn.set(fn.section, start + slot);
    placed.set(fn.name, p);
  }
  return { sections: order.map((name) => ({ name, functions: bySection.get(name)!, slots: slotsIn.get(name)! })), placed };
}

/**
 * Encode one code section: copies every instruction, rewrites references the way clang leaves them
 * for libbpf (src_reg 0 and a relocation for maps, data and ksyms; pc-relative or section-symbol
 * relative imm for calls; byte offset for callback addresses) and returns bytes and relocations.
 */
export function encodeSection(
  section: CodeSection,
  names: ReadonlyMap<string, Named>,
  placed: ReadonlyMap<string, PlacedFunction>,
): { bytes: Uint8Array; relocations: PendingRelocation[] } {
  const relocations: PendingRelocation[] = [];
  const all: Instruction[] = [];
  for (const pf of section.functions) {
    const fn = pf.fn;
    fn.instructions.forEach((orig, i) => {
      const insn = orig.clone();
      const slot = pf.startSlot + pf.slotOf[i]!;
      const where = `function "${fn.name}" instruction ${i}`;
      const reloc = (type: number, target: PendingRelocation["target"]) => relocations.push({ offset: slot * 8, type, target });
      rewrite(insn, where, slot, section.name, names, placed, reloc);
      all.push(insn);
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = encode(all);
  } catch (e) {
    if (e instanceof AsmError) throw emitError("EMIT_BAD_INSTRUCTION", `section "${section.name}": ${e.message}`, e);
    throw e;
  }
  return { bytes, relocations };
}

function rewrite(
  insn: Instruction,
  where: string,
  slot: number,
  section: string,
  names: ReadonlyMap<string, Named>,
  placed: ReadonlyMap<string, PlacedFunction>,
  reloc: (type: number, target: PendingRelocation["target"]) => void,
): void {
  const ref = insn.reference;
  if (insn.opcode === OP_LD_IMM64) {
    if (ref === undefined) {
      if (insn.src === PseudoLoad.MAP_FD || insn.src === PseudoLoad.MAP_VALUE) {
        throw emitError("EMIT_BAD_INSTRUCTION", `${where}: map load without a map name (reference)`);
      }
      if (insn.src === PseudoLoad.FUNC) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: callback address without a function name (reference)`);
      return;
    }
    const named = DATA_SECTIONS.has(ref) ? undefined : names.get(ref);
    const src = insn.src;
    if (DATA_SECTIONS.has(ref)) {
      if (src !== PseudoLoad.MAP_VALUE && src !== 0) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: "${ref}" needs a map value load (src ${PseudoLoad.MAP_VALUE}), not src ${src}`);
      if (!hasDataSection(names, ref)) throw emitError("EMIT_UNKNOWN_DATA", `${where} refers to section "${ref}", which holds no variable`);
      // Offset: accept it in either half of the constant (ldMapValue puts it in next_imm).
      const offset = insn.imm + insn.nextImm;
      insn.src = 0;
      // As clang: a global variable is addressed through its own symbol, static data through the
      // section symbol with the offset in imm.
      const owner = globalAt(names, ref, offset);
      if (owner) {
        insn.constant = BigInt(offset - owner.offset);
        reloc(R_BPF_64_64, { name: owner.name });
      } else {
        insn.constant = BigInt(offset);
        reloc(R_BPF_64_64, { section: ref });
      }
      return;
    }
    if (named === undefined) throw emitError(unknownCode(src), `${where} refers to "${ref}", which is not defined`);
    switch (named.kind) {
      case "map":
        if (src !== PseudoLoad.MAP_FD && src !== 0) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: map "${ref}" must be loaded with src ${PseudoLoad.MAP_FD} (map fd), not ${src}`);
        insn.src = 0;
        insn.constant = 0n;
        reloc(R_BPF_64_64, { name: ref });
        return;
      case "global": {
        if (src !== PseudoLoad.MAP_VALUE && src !== 0) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: variable "${ref}" must be loaded with src ${PseudoLoad.MAP_VALUE} (map value), not ${src}`);
        const g = named.global;
        const inner = insn.imm + insn.nextImm;
        insn.src = 0;
        if (g.global) {
          insn.constant = BigInt(inner);
          reloc(R_BPF_64_64, { name: ref });
        } else {
          insn.constant = BigInt(g.offset + inner);
          reloc(R_BPF_64_64, { section: g.section });
        }
        return;
      }
      case "extern":
        // ksym variables (src BTF_ID), kconfig values (src MAP_VALUE) and kfunc addresses.
        insn.src = 0;
        insn.constant = 0n;
        reloc(R_BPF_64_64, { name: ref });
        return;
      case "function": {
        if (src !== PseudoLoad.FUNC && src !== 0) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: callback "${ref}" must be loaded with src ${PseudoLoad.FUNC}, not ${src}`);
        const target = placed.get(ref)!;
        if (target.section !== TEXT) throw emitError("EMIT_BAD_CALL", `${where}: callback "${ref}" lives in section "${target.section}"; callbacks must be subprograms in .text`);
        insn.src = 0;
        insn.constant = BigInt(target.startSlot * 8);
        reloc(R_BPF_64_64, { section: TEXT });
        return;
      }
    }
  }
  if (insn.opcode !== OP_CALL || insn.src === PseudoCall.HELPER) return;
  if (ref === undefined) {
    if (insn.src === PseudoCall.KFUNC) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: kfunc call without a kfunc name (reference)`);
    return; // a pc-relative call the code generator resolved itself
  }
  const named = names.get(ref);
  if (insn.src === PseudoCall.KFUNC) {
    if (named?.kind !== "extern" || named.ext.section !== ".ksyms" || named.ext.type?.kind !== "func_proto") {
      throw emitError("EMIT_UNKNOWN_EXTERN", `${where} calls kfunc "${ref}", which is not declared as a .ksyms extern function`);
    }
    // clang's form: a pseudo call with imm -1 against the undefined symbol; libbpf fills in the BTF id.
    insn.src = PseudoCall.CALL;
    insn.offset = 0;
    insn.constant = -1n;
    reloc(R_BPF_64_32, { name: ref });
    return;
  }
  if (insn.src !== PseudoCall.CALL) throw emitError("EMIT_BAD_INSTRUCTION", `${where}: call with unknown src ${insn.src}`);
  if (named?.kind !== "function") throw emitError("EMIT_UNKNOWN_FUNCTION", `${where} calls "${ref}", which is not a function of this module`);
  const target = placed.get(ref)!;
  if (target.section !== TEXT) throw emitError("EMIT_BAD_CALL", `${where} calls "${ref}" in section "${target.section}"; only subprograms in .text can be called`);
  if (section === TEXT) {
    // Same section: no relocation, the pc-relative imm is final.
    insn.constant = BigInt(target.startSlot - (slot + 1));
  } else if (target.fn.global) {
    insn.constant = -1n;
    reloc(R_BPF_64_32, { name: ref });
  } else {
    // Static function in another section: against .text's section symbol, imm = slot - 1.
    insn.constant = BigInt(target.startSlot - 1);
    reloc(R_BPF_64_32, { section: TEXT });
  }
}

function unknownCode(src: number): string {
  if (src === PseudoLoad.MAP_FD) return "EMIT_UNKNOWN_MAP";
  if (src === PseudoLoad.FUNC) return "EMIT_UNKNOWN_FUNCTION";
  if (src === PseudoLoad.BTF_ID) return "EMIT_UNKNOWN_EXTERN";
  if (src === PseudoLoad.MAP_VALUE) return "EMIT_UNKNOWN_DATA";
  return "EMIT_BAD_INSTRUCTION";
}

/** The global (non-static) variable of `section` that holds byte `offset`, if any. */
function globalAt(names: ReadonlyMap<string, Named>, section: string, offset: number): CompiledGlobal | undefined {
  for (const n of names.values()) {
    if (n.kind !== "global") continue;
    const g = n.global;
    if (g.global && g.section === section && offset >= g.offset && offset < g.offset + g.size) return g;
  }
  return undefined;
}

function hasDataSection(names: ReadonlyMap<string, Named>, section: string): boolean {
  for (const n of names.values()) if (n.kind === "global" && n.global.section === section) return true;
  return false;
}
