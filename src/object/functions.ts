// Splits executable sections into functions and classifies every relocation and call in them:
// map and global data references, externs, bpf-to-bpf calls and callback addresses.

import { decode } from "../asm/decode.js";
import type { Instruction } from "../asm/instruction.js";
import { OP_CALL, OP_LD_IMM64, PSEUDO_CALL, PSEUDO_FUNC } from "../asm/opcode.js";
import type { BtfExt } from "../btf/types.js";
import type { ElfFile, ElfSection, ElfSymbol } from "../elf/types.js";
import { R_BPF_64_32, R_BPF_64_64, SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_SECTION } from "../elf/types.js";
import { AsmError, ObjectError } from "../errors.js";
import type { InstructionMeta } from "./spec.js";


/** A call or callback address inside a function, pointing at another function by section and slot. */
export interface CallSite {
  /** Index of the instruction in the function. */
  readonly insn: number;
  readonly kind: "call" | "func";
  readonly targetSection: number;
  /** Target slot (8-byte unit) within the target section. */
  readonly targetSlot: number;
}

/** One function (program entry or subprogram) as it sits in its section. */
export interface FunctionBody {
  readonly name: string;
  readonly section: ElfSection;
  /** First slot (8-byte unit) of the function within its section. */
  readonly startSlot: number;
  readonly global: boolean;
  readonly instructions: Instruction[];
  readonly metas: InstructionMeta[];
  readonly calls: CallSite[];
}

/** How the symbols a relocation names map to maps, data and externs. */
export interface SymbolResolver {
  /** Map name for a symbol in .maps / maps, else undefined. */
  mapFor(sym: ElfSymbol): string | undefined;
  /** Data map name for a symbol in a data section, else undefined. */
  dataFor(sym: ElfSymbol): string | undefined;
  /** Offset of a `.kconfig` extern in the .kconfig map, else undefined. */
  kconfigOffset(name: string): number | undefined;
  /** Kind of a `__ksym` extern, else undefined. */
  ksymKind(name: string): "var" | "func" | undefined;
}

function slotIndex(insns: readonly Instruction[]): { slotOf: number[]; insnAt: Map<number, number> } {
  const slotOf: number[] = [];
  const insnAt = new Map<number, number>();
  let slot = 0;
  insns.forEach((ins, i) => {
    slotOf.push(slot);
    insnAt.set(slot, i);
    slot += ins.slots;
  });
  return { slotOf, insnAt };
}

/** Decode an executable section and split it into its functions, with references resolved to names. */
export function readFunctions(elf: ElfFile, section: ElfSection, ext: BtfExt | undefined, resolver: SymbolResolver): FunctionBody[] {
  let all: Instruction[];
  try {
    all = decode(section.data);
  } catch (e) {
    if (e instanceof AsmError) throw new ObjectError("OBJ_BAD_CODE", `section "${section.name}": ${e.message}`, { cause: e });
    throw e;
  }
  const { slotOf, insnAt } = slotIndex(all);
  const metas: InstructionMeta[] = all.map(() => ({}));
  const at = (byteOff: number, what: string): number => {
    const i = byteOff % 8 === 0 ? insnAt.get(byteOff / 8) : undefined;
    if (i === undefined) throw new ObjectError("OBJ_BAD_RELOCATION", `section "${section.name}": ${what} at byte offset ${byteOff} does not point at an instruction`);
    return i;
  };

  // .BTF.ext records: func info, line info, CO-RE relocations (offsets in bytes).
  for (const fi of ext?.funcInfo.get(section.name) ?? []) metas[at(fi.insnOff, "func_info")]!.funcTypeId = fi.typeId;
  for (const li of ext?.lineInfo.get(section.name) ?? []) metas[at(li.insnOff, "line_info")]!.lineInfo = li;
  for (const cr of ext?.coreRelos.get(section.name) ?? []) metas[at(cr.insnOff, "CO-RE relocation")]!.coreRelo = cr;

  // Relocations.
  const callTargets = new Map<number, { kind: "call" | "func"; targetSection: number; targetSlot: number }>();
  for (const r of elf.relocations(section.index)) {
    const i = at(r.offset, "relocation");
    const ins = all[i]!;
    const sym = elf.symbols[r.symbol];
    if (!sym) throw new ObjectError("OBJ_BAD_RELOCATION", `section "${section.name}": relocation at ${r.offset} names symbol ${r.symbol}, which does not exist`);
    const where = `section "${section.name}" instruction ${slotOf[i]} (symbol "${sym.name}")`;
    const meta = metas[i]!;
    if (sym.shndx === SHN_UNDEF) {
      // Externs.
      if (ins.opcode === OP_CALL) {
        if (resolver.ksymKind(sym.name) !== "func") throw new ObjectError("OBJ_BAD_EXTERN", `${where}: call to extern that is not a __ksym kfunc`);
        meta.reference = { kind: "kfunc", name: sym.name };
        continue;
      }
      if (ins.opcode !== OP_LD_IMM64) throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: extern used by an instruction that is not ld_imm64`);
      const kc = resolver.kconfigOffset(sym.name);
      if (kc !== undefined) { meta.reference = { kind: "mapValue", map: ".kconfig", offset: kc }; continue; }
      // A kernel variable, or the address of a kfunc (bpf_ksym_exists()).
      if (resolver.ksymKind(sym.name) !== undefined) { meta.reference = { kind: "ksymVar", name: sym.name }; continue; }
      throw new ObjectError("OBJ_BAD_EXTERN", `${where}: unknown extern`);
    }
    if (r.type !== R_BPF_64_64 && r.type !== R_BPF_64_32)
      throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: unsupported relocation type ${r.type}`);
    const mapName = resolver.mapFor(sym);
    if (mapName !== undefined) {
      if (ins.opcode !== OP_LD_IMM64) throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: map reference in an instruction that is not ld_imm64`);
      meta.reference = { kind: "map", map: mapName };
      continue;
    }
    const dataName = resolver.dataFor(sym);
    if (dataName !== undefined) {
      if (ins.opcode !== OP_LD_IMM64) throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: global data reference in an instruction that is not ld_imm64`);
      const addend = Number(BigInt.asIntN(32, ins.constant));
      const base = sym.type === STT_SECTION ? 0 : sym.value;
      meta.reference = { kind: "mapValue", map: dataName, offset: base + addend };
      continue;
    }
    const target = elf.sections[sym.shndx];
    if (target && target.flags & 0x4 /* SHF_EXECINSTR */) {
      if (ins.opcode === OP_CALL && ins.src === PSEUDO_CALL) {
        const imm = Number(BigInt.asIntN(32, ins.constant));
        callTargets.set(i, { kind: "call", targetSection: sym.shndx, targetSlot: sym.value / 8 + imm + 1 });
        continue;
      }
      if (ins.opcode === OP_LD_IMM64) {
        const imm = Number(BigInt.asIntN(32, ins.constant));
        callTargets.set(i, { kind: "func", targetSection: sym.shndx, targetSlot: (sym.value + imm) / 8 });
        continue;
      }
      throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: reference to code from an instruction that is neither a call nor ld_imm64`);
    }
    throw new ObjectError("OBJ_BAD_RELOCATION", `${where}: symbol is in section "${target?.name ?? sym.shndx}", which holds no maps, data or code`);
  }
  // Calls to static functions in the same section carry no relocation: imm is already relative.
  all.forEach((ins, i) => {
    if (metas[i]!.reference) return; // externs (kfunc calls) are resolved at load time
    if (ins.opcode === OP_CALL && ins.src === PSEUDO_CALL && !callTargets.has(i)) {
      const imm = Number(BigInt.asIntN(32, ins.constant));
      callTargets.set(i, { kind: "call", targetSection: section.index, targetSlot: slotOf[i]! + imm + 1 });
    }
    if (ins.opcode === OP_LD_IMM64 && ins.src === PSEUDO_FUNC && !callTargets.has(i)) {
      const imm = Number(BigInt.asIntN(32, ins.constant));
      callTargets.set(i, { kind: "func", targetSection: section.index, targetSlot: slotOf[i]! + imm + 1 });
    }
  });

  // Split at function symbols.
  const funcs = elf.symbols
    .filter((s) => s.shndx === section.index && s.type === STT_FUNC)
    .sort((a, b) => a.value - b.value);
  if (funcs.length === 0) {
    throw new ObjectError("OBJ_NO_FUNCTION", `section "${section.name}" holds code but no function symbol (is it hand-written assembly without .type @function?)`);
  }
  const totalSlots = section.data.byteLength / 8;
  const bodies: FunctionBody[] = [];
  for (let k = 0; k < funcs.length; k++) {
    const f = funcs[k]!;
    if (f.value % 8 !== 0) throw new ObjectError("OBJ_BAD_FUNCTION", `function "${f.name}" in "${section.name}" starts at unaligned offset ${f.value}`);
    const startSlot = f.value / 8;
    const endSlot = f.size > 0 ? (f.value + f.size) / 8 : (funcs[k + 1]?.value ?? totalSlots * 8) / 8;
    const first = insnAt.get(startSlot);
    if (first === undefined || endSlot > totalSlots)
      throw new ObjectError("OBJ_BAD_FUNCTION", `function "${f.name}" (${f.value}+${f.size}) lies outside section "${section.name}" or splits an instruction`);
    const last = endSlot === totalSlots ? all.length : insnAt.get(endSlot);
    if (last === undefined) throw new ObjectError("OBJ_BAD_FUNCTION", `function "${f.name}" ends inside an instruction`);
    const calls: CallSite[] = [];
    for (let i = first; i < last; i++) {
      const c = callTargets.get(i);
      if (c) calls.push({ insn: i - first, ...c });
    }
    bodies.push({
      name: f.name,
      section,
      startSlot,
      global: f.bind !== STB_LOCAL,
      instructions: all.slice(first, last),
      metas: metas.slice(first, last),
      calls,
    });
  }
  return bodies;
}
