// The object writer: turns a CompiledModule into a standard eBPF ELF object (code sections, .maps,
// global data, license, .BTF, .BTF.ext, relocations, symbols) that tsbpf's loader and libbpf both load.

import { encodeBtfExt } from "../../btf/ext.js";
import type { BtfTypeSpec } from "../../btf/writer.js";
import { BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN, BTF_VAR_STATIC } from "../../btf/types.js";
import {
  SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, SHT_REL, STB_GLOBAL, STB_LOCAL, STB_WEAK,
  STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION,
} from "../../elf/types.js";
import { TsbpfError } from "../../errors.js";
import type { CompiledExtern, CompiledFunction, CompiledGlobal, CompiledModule, CType } from "../module.js";
import { BtfTypeTable, IDENTIFIER } from "./btf-types.js";
import { encodeRelocations, writeElf, type OutSection } from "./elf-writer.js";
import { EmitError, emitError } from "./errors.js";
import { buildExt } from "./ext.js";
import { mapDefinition } from "./maps.js";
import { encodeSection, layoutCode, TEXT, type Named, type PendingRelocation } from "./relocations.js";
import { nameKey, sectionKey, SymbolTableBuilder } from "./symbols.js";

export { EmitError } from "./errors.js";

/** SHF_INFO_LINK: sh_info of a REL section names the section it applies to. */
const SHF_INFO_LINK = 0x40;
const DATA_ORDER = [".data", ".rodata", ".bss"] as const;
type DataSection = (typeof DATA_ORDER)[number];
/** Section names a program may not use: the writer produces these itself. */
const RESERVED_SECTIONS = new Set([".maps", ".data", ".rodata", ".bss", "license", "version", ".BTF", ".BTF.ext", ".symtab", ".strtab", ".shstrtab", ".ksyms", ".kconfig", "maps"]);

/**
 * Write a compiled module as an ELF64 relocatable eBPF object. The output is deterministic: the same
 * module always gives the same bytes.
 *
 * @throws EmitError when the module is invalid: `EMIT_DUPLICATE_NAME`, `EMIT_BAD_NAME`, `EMIT_BAD_TYPE`,
 *   `EMIT_BAD_MAP`, `EMIT_BAD_GLOBAL`, `EMIT_BAD_EXTERN`, `EMIT_BAD_FUNCTION`, `EMIT_BAD_INSTRUCTION`,
 *   `EMIT_UNKNOWN_MAP`, `EMIT_UNKNOWN_FUNCTION`, `EMIT_UNKNOWN_EXTERN`, `EMIT_UNKNOWN_DATA`, `EMIT_BAD_CALL`,
 *   `EMIT_BAD_CORE`, or `EMIT_BAD_MODULE` for input that is not a module at all.
 *
 * @example
 * const bytes = writeObject(module);
 * const spec = readCollectionSpec(bytes, { name: module.name });
 */
export function writeObject(mod: CompiledModule): Uint8Array {
  try {
    return write(mod);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    const err = e as Error;
    throw new EmitError("EMIT_BAD_MODULE", `write object: malformed module (${err?.name ?? "error"}: ${err?.message ?? String(e)})`, { cause: e });
  }
}

function write(mod: CompiledModule): Uint8Array {
  if (typeof mod !== "object" || mod === null) throw emitError("EMIT_BAD_MODULE", "the module is not an object");
  for (const f of ["functions", "maps", "globals", "externs"] as const) {
    if (!Array.isArray(mod[f])) throw emitError("EMIT_BAD_MODULE", `module.${f} is not an array`);
  }
  if (!(mod.sources instanceof Map)) throw emitError("EMIT_BAD_MODULE", "module.sources is not a Map");
  if (mod.functions.length === 0) throw emitError("EMIT_BAD_MODULE", "the module has no functions");
  const license = mod.license === undefined || mod.license === "" ? "GPL" : mod.license;
  if (typeof license !== "string" || license.includes("\0")) throw emitError("EMIT_BAD_MODULE", `license ${JSON.stringify(mod.license)} is not a string`);

  const names = collectNames(mod);
  const table = new BtfTypeTable();
  validateFunctions(mod.functions);
  const dataSizes = validateGlobals(mod.globals, table);
  validateExterns(mod.externs);

  // BTF: maps, functions, variables, externs, extra types, then the DATASECs.
  const mapVars: { name: string; varId: number; offset: number; size: number }[] = [];
  let mapsSize = 0;
  for (const m of mod.maps) {
    const def = mapDefinition(table, m);
    const varId = table.addUnique({ kind: "var", name: m.name, type: def.structId, linkage: BTF_VAR_GLOBAL_ALLOCATED });
    mapVars.push({ name: m.name, varId, offset: mapsSize, size: def.size });
    mapsSize += def.size;
  }
  const funcTypes = new Map<string, number>();
  for (const fn of mod.functions) {
    const proto = table.ctype(namedParams(fn.proto), `function "${fn.name}" prototype`);
    funcTypes.set(fn.name, table.addUnique({ kind: "func", name: fn.name, type: proto, linkage: fn.global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC }));
  }
  const globalVars = new Map<string, number>();
  for (const g of mod.globals) {
    const type = table.ctype(g.type, `variable "${g.name}"`);
    globalVars.set(g.name, table.addUnique({ kind: "var", name: g.name, type, linkage: g.global ? BTF_VAR_GLOBAL_ALLOCATED : BTF_VAR_STATIC }));
  }
  const externVars = new Map<string, { id: number; size: number }>();
  for (const x of mod.externs) {
    const where = `extern "${x.name}"`;
    if (x.type.kind === "func_proto") {
      const proto = table.ctype(x.type, where);
      externVars.set(x.name, { id: table.addUnique({ kind: "func", name: x.name, type: proto, linkage: BTF_FUNC_EXTERN }), size: 0 });
    } else {
      const type = table.ctype(x.type, where);
      const size = x.type.kind === "void" ? 0 : table.sizeOf(x.type, where);
      externVars.set(x.name, { id: table.addUnique({ kind: "var", name: x.name, type, linkage: BTF_VAR_GLOBAL_EXTERN }), size });
    }
  }
  for (const t of mod.types ?? []) table.ctype(t, "extra type");

  const datasecs: BtfTypeSpec[] = [];
  const usedData = DATA_ORDER.filter((s) => dataSizes.has(s));
  const dataSec = (s: DataSection) => {
    const vars = mod.globals.filter((g) => g.section === s).sort((a, b) => a.offset - b.offset)
      .map((g) => ({ type: globalVars.get(g.name)!, offset: g.offset, size: g.size }));
    datasecs.push({ kind: "datasec", name: s, size: dataSizes.get(s)!, vars });
  };
  const externSec = (s: CompiledExtern["section"]) => {
    const vars = mod.externs.filter((x) => x.section === s).map((x) => ({ type: externVars.get(x.name)!.id, offset: 0, size: externVars.get(x.name)!.size }));
    if (vars.length) datasecs.push({ kind: "datasec", name: s, size: 0, vars });
  };
  // clang's order: by section name.
  if (usedData.includes(".bss")) dataSec(".bss");
  if (usedData.includes(".data")) dataSec(".data");
  externSec(".kconfig");
  externSec(".ksyms");
  if (mapVars.length) datasecs.push({ kind: "datasec", name: ".maps", size: mapsSize, vars: mapVars.map((m) => ({ type: m.varId, offset: m.offset, size: m.size })) });
  if (usedData.includes(".rodata")) dataSec(".rodata");
  for (const d of datasecs) table.addUnique(d);

  // Code.
  const { sections: code, placed } = layoutCode(mod.functions);
  const encoded = code.map((s) => ({ section: s, ...encodeSection(s, names, placed) }));
  const ext = buildExt(mod, code, funcTypes, table);
  const btf = table.build();
  const extBytes = encodeBtfExt(ext, btf);
  const btfBytes = btf.encode();

  // Section list (indices from 1).
  const sections: OutSection[] = [];
  const index = new Map<string, number>();
  const relSlots: { at: number; relocations: PendingRelocation[] }[] = [];
  const push = (s: OutSection) => { sections.push(s); index.set(s.name, sections.length); return sections.length; };
  for (const e of encoded) {
    const at = push({ name: e.section.name, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: e.bytes, addralign: 8 });
    if (e.relocations.length) {
      sections.push({ name: `.rel${e.section.name}`, type: SHT_REL, flags: SHF_INFO_LINK, data: new Uint8Array(0), addralign: 8, info: at });
      relSlots.push({ at: sections.length, relocations: e.relocations });
    }
  }
  // clang's order: .data, .rodata, .maps, .bss, license.
  for (const s of usedData) {
    if (s === ".bss") continue;
    const data = new Uint8Array(dataSizes.get(s)!);
    for (const g of mod.globals) if (g.section === s && g.init) data.set(g.init, g.offset);
    push({ name: s, type: SHT_PROGBITS, flags: SHF_ALLOC | (s === ".data" ? SHF_WRITE : 0), data, addralign: 8 });
  }
  if (mapVars.length) push({ name: ".maps", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(mapsSize), addralign: 8 });
  if (usedData.includes(".bss")) {
    push({ name: ".bss", type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(0), size: dataSizes.get(".bss")!, addralign: 8 });
  }
  const licenseBytes = new TextEncoder().encode(license + "\0");
  push({ name: "license", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: licenseBytes, addralign: 1 });
  push({ name: ".BTF", type: SHT_PROGBITS, flags: 0, data: btfBytes, addralign: 4 });
  push({ name: ".BTF.ext", type: SHT_PROGBITS, flags: 0, data: extBytes, addralign: 4 });

  // Symbols: locals (section symbols, static functions and variables), then globals.
  const syms = new SymbolTableBuilder();
  // Code sections always get one (.BTF.ext records name them); data sections only when a relocation uses it.
  const relocated = new Set(encoded.flatMap((e) => e.relocations.map((r) => ("section" in r.target ? r.target.section : ""))));
  for (const s of [...code.map((c) => c.name), ...usedData.filter((d) => relocated.has(d))]) {
    // Unnamed, as clang writes them: a section symbol takes its name from its section.
    syms.local(sectionKey(s), { name: "", value: 0, size: 0, type: STT_SECTION, bind: STB_LOCAL, section: index.get(s)! });
  }
  const funcSymbol = (fn: CompiledFunction) => {
    const pf = placed.get(fn.name)!;
    return { name: fn.name, value: pf.startSlot * 8, size: pf.slots * 8, type: STT_FUNC, bind: fn.global ? STB_GLOBAL : STB_LOCAL, section: index.get(pf.section)! };
  };
  const globalSymbol = (g: CompiledGlobal) =>
    ({ name: g.name, value: g.offset, size: g.size, type: STT_OBJECT, bind: g.global ? STB_GLOBAL : STB_LOCAL, section: index.get(g.section)! });
  for (const fn of mod.functions) if (!fn.global) syms.local(nameKey(fn.name), funcSymbol(fn));
  for (const g of mod.globals) if (!g.global) syms.local(nameKey(g.name), globalSymbol(g));
  for (const fn of mod.functions) if (fn.global) syms.global(nameKey(fn.name), funcSymbol(fn));
  for (const m of mapVars) {
    syms.global(nameKey(m.name), { name: m.name, value: m.offset, size: m.size, type: STT_OBJECT, bind: STB_GLOBAL, section: index.get(".maps")! });
  }
  for (const g of mod.globals) if (g.global) syms.global(nameKey(g.name), globalSymbol(g));
  syms.global(nameKey("LICENSE"), { name: "LICENSE", value: 0, size: licenseBytes.length, type: STT_OBJECT, bind: STB_GLOBAL, section: index.get("license")! });
  for (const x of mod.externs) {
    syms.global(nameKey(x.name), { name: x.name, value: 0, size: 0, type: STT_NOTYPE, bind: x.weak ? STB_WEAK : STB_GLOBAL, section: SHN_UNDEF });
  }
  const { symbols, index: symIndex } = syms.finish();

  for (const { at, relocations } of relSlots) {
    const rel = relocations.map((r) => {
      const key = "section" in r.target ? sectionKey(r.target.section) : nameKey(r.target.name);
      const symbol = symIndex.get(key);
      if (symbol === undefined) throw emitError("EMIT_BAD_INSTRUCTION", `relocation at ${r.offset} names symbol ${key}, which was not written`);
      return { offset: r.offset, symbol, type: r.type };
    });
    const old = sections[at - 1]!;
    sections[at - 1] = { ...old, data: encodeRelocations(rel) };
  }
  return writeElf(sections, symbols);
}

/** Every top-level name with what it refers to; names must be unique identifiers. */
function collectNames(mod: CompiledModule): Map<string, Named> {
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

function validateFunctions(functions: readonly CompiledFunction[]): void {
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
function validateGlobals(globals: readonly CompiledGlobal[], table: BtfTypeTable): Map<DataSection, number> {
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

function validateExterns(externs: readonly CompiledExtern[]): void {
  for (const x of externs) {
    const where = `extern "${x.name}"`;
    if (x.section !== ".ksyms" && x.section !== ".kconfig") throw emitError("EMIT_BAD_EXTERN", `${where}: section ${JSON.stringify(x.section)} is not .ksyms or .kconfig`);
    if (typeof x.type !== "object" || x.type === null) throw emitError("EMIT_BAD_TYPE", `${where} has no type`);
    if (x.section === ".kconfig" && (x.type.kind === "func_proto" || x.type.kind === "void")) throw emitError("EMIT_BAD_EXTERN", `${where}: a .kconfig extern must be a value, not ${x.type.kind}`);
  }
}

/** A function prototype with every parameter named (the kernel requires names on FUNC prototypes). */
function namedParams(proto: CType & { kind: "func_proto" }): CType {
  if (!Array.isArray(proto.params) || proto.params.every((p) => typeof p?.name === "string" && p.name !== "")) return proto;
  return { ...proto, params: proto.params.map((p, i) => (p?.name ? p : { ...p, name: `arg${i}` })) };
}
