// Reads an ELF eBPF object (clang + libbpf headers, or tsbpf's compiler) into a CollectionSpec.
// Pure and deterministic: the same bytes always give the same spec; nothing here touches the kernel.

import { Btf } from "../btf/btf.js";
import { parseBtfExt } from "../btf/ext.js";
import type { BtfExt } from "../btf/types.js";
import { readElf } from "../elf/reader.js";
import type { ElfFile, ElfSymbol } from "../elf/types.js";
import { EM_BPF, ET_REL, SHF_EXECINSTR, SHT_PROGBITS } from "../elf/types.js";
import { BtfError, ObjectError } from "../errors.js";
import { fixupBtf } from "./btf-fixup.js";
import { dataSectionKind, readDataSection, readExterns } from "./data.js";
import { readFunctions, type FunctionBody, type SymbolResolver } from "./functions.js";
import { functionKey, linkProgram } from "./link.js";
import { readBtfMaps, readLegacyMaps } from "./maps.js";
import { sectionInfo, knownSections } from "./sections.js";
import { isStructOpsSection, readStructOpsMaps, type FunctionLookup } from "./struct-ops.js";
import type { CollectionSpec, MapSpec, ProgramSpec, VariableSpec } from "./spec.js";

/**
 * Object name for a file path, as libbpf derives it: the file name up to its first dot ("prog.bpf.o"
 * and "prog.v2.o" are both "prog"), so global data maps get the kernel names libbpf gives them.
 */
export function objectNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Options for {@link readCollectionSpec}. */
export interface ReadOptions {
  /** Object name used for global data map names; defaults to "obj". */
  name?: string;
}

function cString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end === -1 ? data : data.subarray(0, end));
}

/**
 * Read an eBPF ELF object into a spec: programs (linked with their subprograms), maps, global data,
 * externs, license and version.
 *
 * @example
 * const spec = readCollectionSpec(readFileSync("prog.bpf.o"), { name: "prog" });
 * for (const [name, p] of spec.programs) console.log(name, p.type, p.attachTarget);
 */
export function readCollectionSpec(bytes: Uint8Array, opts: ReadOptions = {}): CollectionSpec {
  const name = opts.name ?? "obj";
  const elf: ElfFile = readElf(bytes, { machine: EM_BPF });
  if (elf.type !== ET_REL) throw new ObjectError("OBJ_NOT_RELOCATABLE", `not a relocatable object (ELF type ${elf.type}); eBPF objects are produced with -c`);

  // BTF and BTF.ext.
  let btf: Btf | undefined;
  let ext: BtfExt | undefined;
  const btfSec = elf.section(".BTF");
  if (btfSec) btf = Btf.parse(btfSec.data);
  const extSec = elf.section(".BTF.ext");
  if (extSec) {
    if (!btf) throw new BtfError("BTF_MISSING", "object has .BTF.ext but no .BTF section");
    ext = parseBtfExt(extSec.data, btf);
  }

  // License and version.
  const licSec = elf.section("license");
  const license = licSec ? cString(licSec.data) : "";
  const verSec = elf.section("version");
  let kernelVersion = 0;
  if (verSec) {
    if (verSec.data.byteLength !== 4) throw new ObjectError("OBJ_BAD_VERSION", `section "version" must hold 4 bytes, has ${verSec.data.byteLength}`);
    kernelVersion = new DataView(verSec.data.buffer, verSec.data.byteOffset, 4).getUint32(0, true);
  }

  // Maps.
  const maps = new Map<string, MapSpec>();
  const addMap = (m: MapSpec) => {
    if (maps.has(m.name)) throw new ObjectError("OBJ_DUPLICATE_MAP", `map "${m.name}" is defined twice`);
    maps.set(m.name, m);
  };
  const mapsSec = elf.section(".maps");
  if (mapsSec) for (const m of readBtfMaps(elf, btf, mapsSec)) addMap(m);
  const legacySec = elf.section("maps");
  if (legacySec) for (const m of readLegacyMaps(elf, legacySec)) addMap(m);

  // Global data.
  const variables = new Map<string, VariableSpec>();
  const dataSections = new Map<number, string>();
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (!kind) continue;
    const { map, variables: vars } = readDataSection(elf, btf, s, kind, name);
    addMap(map);
    dataSections.set(s.index, s.name);
    for (const v of vars) if (!variables.has(v.name)) variables.set(v.name, v);
  }

  // Externs.
  const { kconfig, ksyms, kconfigMap } = readExterns(elf, btf, name);
  if (kconfigMap) addMap(kconfigMap);

  // Code.
  const mapSections = new Set([mapsSec?.index, legacySec?.index].filter((x): x is number => x !== undefined));
  const resolver: SymbolResolver = {
    mapFor: (sym: ElfSymbol) => {
      if (!mapSections.has(sym.shndx)) return undefined;
      if (maps.has(sym.name)) return sym.name;
      throw new ObjectError("OBJ_BAD_RELOCATION", `reference to "${sym.name}" in a maps section, which is not a known map`);
    },
    dataFor: (sym: ElfSymbol) => dataSections.get(sym.shndx),
    kconfigOffset: (n: string) => kconfig.find((k) => k.name === n)?.offset,
    ksymKind: (n: string) => ksyms.find((k) => k.name === n)?.kind,
  };
  const index = new Map<string, FunctionBody>();
  const entries: FunctionBody[] = [];
  for (const s of elf.sections) {
    if (s.type !== SHT_PROGBITS || !(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    const isText = s.name === ".text";
    if (!isText && !sectionInfo(s.name)) {
      throw new ObjectError("OBJ_UNKNOWN_SECTION", `section "${s.name}" holds code but is not a known program section (known: ${knownSections().slice(0, 12).join(", ")}, ...)`);
    }
    for (const fn of readFunctions(elf, s, ext, resolver)) {
      index.set(functionKey(s.index, fn.startSlot), fn);
      if (!isText) {
        if (!fn.global) throw new ObjectError("OBJ_STATIC_PROGRAM", `program "${fn.name}" in section "${s.name}" is static; entry points must be global functions`);
        entries.push(fn);
      }
    }
  }

  const programs = new Map<string, ProgramSpec>();
  for (const fn of entries) {
    const info = sectionInfo(fn.section.name)!;
    if (programs.has(fn.name)) throw new ObjectError("OBJ_DUPLICATE_PROGRAM", `program "${fn.name}" is defined twice`);
    const linked = linkProgram(fn, index);
    programs.set(fn.name, {
      name: fn.name,
      sectionName: fn.section.name,
      type: info.type,
      expectedAttachType: info.attachType,
      attach: info.attach,
      attachTarget: info.target,
      sleepable: info.sleepable,
      xdpFrags: info.xdpFrags,
      needsBtfTarget: info.needsBtfTarget,
      license,
      kernelVersion,
      instructions: linked.instructions,
      metas: linked.metas,
      functions: linked.functions,
    });
  }
  // struct_ops variables: one STRUCT_OPS map each, members pointing at struct_ops programs.
  const functionAt: FunctionLookup = (shndx, offset) => {
    const fn = offset % 8 === 0 ? index.get(functionKey(shndx, offset / 8)) : undefined;
    if (!fn) return undefined;
    return { name: fn.name, section: fn.section.name, type: fn.section.name === ".text" ? undefined : sectionInfo(fn.section.name)?.type };
  };
  for (const s of elf.sections) {
    if (isStructOpsSection(s.name)) for (const m of readStructOpsMaps(elf, btf, s, functionAt)) addMap(m);
  }
  // Initial contents must name things that exist.
  for (const m of maps.values()) {
    for (const c of m.contents) {
      if (c.kind === "program" && !programs.has(c.name)) throw new ObjectError("OBJ_BAD_MAP", `map "${m.name}" slot ${c.index} names program "${c.name}", which is not an entry point`);
      if (c.kind === "map" && !maps.has(c.name)) throw new ObjectError("OBJ_BAD_MAP", `map "${m.name}" slot ${c.index} names map "${c.name}", which does not exist`);
    }
  }
  const kernelReadyBtf = btf ? fixupBtf(btf, elf, kconfig, kconfigMap?.valueSize ?? 0) : undefined;
  return { name, license, kernelVersion, programs, maps, variables, kconfig, ksyms, btf: kernelReadyBtf };
}
