// The object writer: turns a CompiledModule into a standard eBPF ELF object (code sections, .maps,
// global data, license, .BTF, .BTF.ext, relocations, symbols) that tsbpf's loader and libbpf both load.

import { encodeBtfExt } from "../../btf/ext.js";
import {
  SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, SHT_REL, STB_GLOBAL, STB_LOCAL, STB_WEAK,
  STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION, R_BPF_64_ABS64,
} from "../../elf/types.js";
import { TsbpfError } from "../../errors.js";
import type { CompiledFunction, CompiledGlobal, CompiledModule } from "../module.js";
import { BtfTypeTable } from "./btf-types.js";
import { encodeRelocations, writeElf, type OutSection } from "./elf-writer.js";
import { EmitError, emitError } from "./errors.js";
import { buildExt } from "./ext.js";
import { declareBtf } from "./btf-decls.js";
import { encodeSection, layoutCode, type PendingRelocation } from "./relocations.js";
import { layoutStructOps } from "./struct-ops.js";
import { nameKey, sectionKey, SymbolTableBuilder } from "./symbols.js";
import { collectNames, DATA_ORDER, validateExterns, validateFunctions, validateGlobals } from "./validate.js";

export { EmitError } from "./errors.js";

/** SHF_INFO_LINK: sh_info of a REL section names the section it applies to. */
const SHF_INFO_LINK = 0x40;

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

  const { mapVars, mapsSize, funcTypes } = declareBtf(mod, table, dataSizes);
  const structOps = layoutStructOps(mod, table);
  const usedData = DATA_ORDER.filter((s) => dataSizes.has(s));

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
  // struct_ops variables, with their function-pointer members relocated against the programs (as clang does).
  for (const so of structOps) {
    const at = push({ name: so.name, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: so.data, addralign: 8 });
    sections.push({ name: `.rel${so.name}`, type: SHT_REL, flags: SHF_INFO_LINK, data: new Uint8Array(0), addralign: 8, info: at });
    relSlots.push({ at: sections.length, relocations: so.vars.flatMap((v) => v.so.functions.map((f) => ({ offset: v.offset + f.offset, type: R_BPF_64_ABS64, target: { name: f.function } }))) });
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
  for (const so of structOps) {
    for (const v of so.vars) syms.global(nameKey(v.so.name), { name: v.so.name, value: v.offset, size: v.so.type.size, type: STT_OBJECT, bind: STB_GLOBAL, section: index.get(so.name)! });
  }
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
