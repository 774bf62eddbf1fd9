// Validation of a CompiledModule before it is written: unique identifier names, function sections and
// bodies, global variable layout and initial bytes, extern sections; each problem is a coded EmitError.

import type { CompiledExtern, CompiledFunction, CompiledGlobal, CompiledModule } from "../module.js";
import { IDENTIFIER, type BtfTypeTable } from "./btf-types.js";
import { emitError } from "./errors.js";
import { TEXT, type Named } from "./relocations.js";

/** The data sections, in the order they are written. */
export const DATA_ORDER = [".data", ".rodata", ".bss"] as const;
export type DataSection = (typeof DATA_ORDER)[number];
/** Section names a program may not use: the writer produces these itself. */
const RESERVED_SECTIONS = new Set([".maps", ".data", ".rodata", ".bss", "license", "version", ".BTF", ".BTF.ext", ".symtab", ".strtab", ".shstrtab", ".ksyms", ".kconfig", "maps"]);

/** Every top-level name with what it refers to; names must be unique identifiers. */
export function collectNames(mod: CompiledModule): Map<string, Named> {
  const names = new Map<string, Named>();
  const add = (name: unknown, what: string, n: Named) => {
    if (typeof name !== "string" || !IDENTIFIER.test(name)) throw emitError("EMIT_BAD_NAME", `${what} name ${JSON.stringify(name)} is not an identifier`);
    if (name === "LICENSE") throw emitError("EMIT_DUPLICATE_NAME", `${what} "LICENSE" clashes with the license symbol`);
    const prev = names.get(name);
    if (prev) throw emitError("EMIT_DUPLICATE_NAME", `${what} "${name}" has the same name as a ${prev.kind} of the module`);
    names.set(name, n);
  };
  for (const fn of mod.functions) {
    if (typeof fn !== "object" || fn === null) throw emitError("EMIT_BAD_FUNCTION", "a function entry is not an object");
    add(fn.name, "function", { kind: "function", fn });
  }
  for (const map of mod.maps) {
    if (typeof map !== "object" || map === null) throw emitError("EMIT_BAD_MAP", "a map entry is not an object");
    add(map.name, "map", { kind: "map", map });
  }
  for (const g of mod.globals) {
    if (typeof g !== "object" || g === null) throw emitError("EMIT_BAD_GLOBAL", "a global entry is not an object");
    add(g.name, "variable", { kind: "global", global: g });
  }
  for (const x of mod.externs) {
    if (typeof x !== "object" || x === null) throw emitError("EMIT_BAD_EXTERN", "an extern entry is not an object");
    add(x.name, "extern", { kind: "extern", ext: x });
  }
  return names;
}

export function validateFunctions(functions: readonly CompiledFunction[]): void {
  for (const fn of functions) {
    const where = `function "${fn.name}"`;
    if (typeof fn.section !== "string" || fn.section === "" || fn.section.includes("\0")) throw emitError("EMIT_BAD_FUNCTION", `${where} has no section name`);
    if (RESERVED_SECTIONS.has(fn.section) || fn.section.startsWith(".rel")) throw emitError("EMIT_BAD_FUNCTION", `${where}: section "${fn.section}" is reserved for data the writer produces`);
    if (fn.section !== TEXT && !fn.global) throw emitError("EMIT_BAD_FUNCTION", `${where} in program section "${fn.section}" must be global (only .text holds static subprograms)`);
    if (!Array.isArray(fn.instructions) || fn.instructions.length === 0) throw emitError("EMIT_BAD_FUNCTION", `${where} has no instructions`);
    fn.instructions.forEach((insn, i) => {
      if (typeof insn !== "object" || insn === null || typeof insn.clone !== "function") throw emitError("EMIT_BAD_INSTRUCTION", `${where} instruction ${i} is not an Instruction`);
    });
    if (fn.proto?.kind !== "func_proto") throw emitError("EMIT_BAD_TYPE", `${where}: prototype is not a func_proto`);
    if (!Array.isArray(fn.coreRelocations)) throw emitError("EMIT_BAD_CORE", `${where}: coreRelocations is not an array`);
  }
}

/** Validates globals (section, layout, size, initial bytes) and returns each used data section's size. */
export function validateGlobals(globals: readonly CompiledGlobal[], table: BtfTypeTable): Map<DataSection, number> {
  const sizes = new Map<DataSection, number>();
  const bySection = new Map<string, CompiledGlobal[]>();
  for (const g of globals) {
    const where = `variable "${g.name}"`;
    if (!(DATA_ORDER as readonly string[]).includes(g.section)) throw emitError("EMIT_BAD_GLOBAL", `${where}: section ${JSON.stringify(g.section)} is not .data, .rodata or .bss`);
    if (!Number.isInteger(g.offset) || g.offset < 0 || !Number.isInteger(g.size) || g.size <= 0 || g.offset + g.size > 0x7fffffff) {
      throw emitError("EMIT_BAD_GLOBAL", `${where}: offset ${String(g.offset)} / size ${String(g.size)} is not a valid layout`);
    }
    const typeSize = table.sizeOf(g.type, where);
    if (typeSize !== g.size) throw emitError("EMIT_BAD_GLOBAL", `${where}: size ${g.size} differs from its type's size ${typeSize}`);
    if (g.init !== undefined) {
      if (!(g.init instanceof Uint8Array)) throw emitError("EMIT_BAD_GLOBAL", `${where}: init is not a Uint8Array`);
      if (g.init.length > g.size) throw emitError("EMIT_BAD_GLOBAL", `${where}: ${g.init.length} initial bytes for a ${g.size}-byte variable`);
      if (g.section === ".bss" && g.init.some((b) => b !== 0)) throw emitError("EMIT_BAD_GLOBAL", `${where}: a .bss variable cannot have non-zero initial bytes`);
    }
    const list = bySection.get(g.section) ?? [];
    list.push(g);
    bySection.set(g.section, list);
    const s = g.section as DataSection;
    sizes.set(s, Math.max(sizes.get(s) ?? 0, g.offset + g.size));
  }
  for (const [section, list] of bySection) {
    const sorted = [...list].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!, b = sorted[i]!;
      if (a.offset + a.size > b.offset) throw emitError("EMIT_BAD_GLOBAL", `variables "${a.name}" and "${b.name}" overlap in ${section}`);
    }
  }
  return sizes;
}

export function validateExterns(externs: readonly CompiledExtern[]): void {
  for (const x of externs) {
    const where = `extern "${x.name}"`;
    if (x.section !== ".ksyms" && x.section !== ".kconfig") throw emitError("EMIT_BAD_EXTERN", `${where}: section ${JSON.stringify(x.section)} is not .ksyms or .kconfig`);
    if (typeof x.type !== "object" || x.type === null) throw emitError("EMIT_BAD_TYPE", `${where} has no type`);
    if (x.section === ".kconfig" && (x.type.kind === "func_proto" || x.type.kind === "void")) throw emitError("EMIT_BAD_EXTERN", `${where}: a .kconfig extern must be a value, not ${x.type.kind}`);
  }
}
