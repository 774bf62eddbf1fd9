// Global data: .data/.rodata/.bss (and their .data.* / .rodata.* variants) become single-entry array
// maps; their BTF variables become named variables; `.kconfig` externs get a layout of their own.

import type { Btf } from "../btf/btf.js";
import { BTF_VAR_GLOBAL_EXTERN } from "../btf/types.js";
import type { ElfFile, ElfSection } from "../elf/types.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, STB_WEAK, SHN_UNDEF } from "../elf/types.js";
import { ObjectError } from "../errors.js";
import { mapSpec } from "./maps.js";
import type { KconfigExtern, KsymExtern, MapSpec, MapOrigin, VariableSpec } from "./spec.js";

export const BPF_F_RDONLY_PROG = 0x80;
export const BPF_F_MMAPABLE = 0x400;
/** Name of the internal map that holds `__kconfig` externs. */
export const KCONFIG_MAP = ".kconfig";

/** Kind of global data a section holds, or undefined if it is not a data section. */
export function dataSectionKind(s: ElfSection): "data" | "rodata" | "bss" | undefined {
  if (!(s.flags & SHF_ALLOC) || s.flags & SHF_EXECINSTR) return undefined;
  if (s.type !== SHT_PROGBITS && s.type !== SHT_NOBITS) return undefined;
  if (s.name === ".data" || s.name.startsWith(".data.")) return "data";
  if (s.name === ".rodata" || s.name.startsWith(".rodata.")) return "rodata";
  if (s.name === ".bss" || s.name.startsWith(".bss.")) return "bss";
  return undefined;
}

/**
 * Kernel-visible name of a global data map, as libbpf forms it: a prefix of the object name and the
 * section name, within the kernel's 15 characters, sanitised to [A-Za-z0-9_.].
 */
export function internalMapName(objectName: string, section: string): string {
  let prefixLen: number;
  if (section.length >= 15 || section.indexOf(".", 1) !== -1) prefixLen = 0;
  else prefixLen = Math.min(15 - section.length, Math.min(8, objectName.length));
  const raw = (objectName.slice(0, prefixLen) + section).slice(0, 15);
  return raw.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** Upper bound for a global data section (the kernel's limit for an array value is far lower). */
const MAX_DATA_SECTION_SIZE = 1 << 30;

/** Turn one data section into its map spec and variables. */
export function readDataSection(
  elf: ElfFile, btf: Btf | undefined, section: ElfSection, kind: "data" | "rodata" | "bss", objectName: string,
): { map: MapSpec; variables: VariableSpec[] } {
  const datasecId = btf?.find(section.name, "datasec")[0];
  const size = section.size;
  // .bss has no bytes in the file, so nothing else bounds its size: refuse absurd sizes before allocating.
  if (size > MAX_DATA_SECTION_SIZE)
    throw new ObjectError("OBJ_BAD_DATA", `section "${section.name}" is ${size} bytes; a global data section must fit in one map value (at most ${MAX_DATA_SECTION_SIZE} bytes)`);
  const data = new Uint8Array(size);
  if (kind !== "bss" && section.type !== SHT_NOBITS) data.set(section.data.subarray(0, size));
  const origin: MapOrigin = kind;
  const map = mapSpec({
    name: section.name,
    kernelName: internalMapName(objectName, section.name),
    type: "ARRAY",
    keySize: 4,
    valueSize: size,
    maxEntries: 1,
    flags: BPF_F_MMAPABLE | (kind === "rodata" ? BPF_F_RDONLY_PROG : 0),
    btfValueTypeId: datasecId ?? 0,
    data,
    freeze: kind === "rodata",
    origin,
    section: section.name,
  });
  const variables: VariableSpec[] = [];
  const symOffset = new Map<string, number>();
  for (const s of elf.symbols) if (s.shndx === section.index && s.name) symOffset.set(s.name, s.value);
  if (btf && datasecId !== undefined) {
    const ds = btf.type(datasecId);
    if (ds.kind === "datasec") {
      for (const vi of ds.vars) {
        const v = btf.type(vi.type);
        if (v.kind !== "var") continue;
        const offset = symOffset.get(v.name) ?? vi.offset;
        const vsize = vi.size || btf.sizeof(v.type);
        if (offset + vsize > size)
          throw new ObjectError("OBJ_BAD_DATA", `variable "${v.name}" (${vsize} bytes at ${offset}) lies outside section "${section.name}" (${size} bytes)`);
        variables.push({ name: v.name, map: section.name, offset, size: vsize, btfTypeId: v.type, readonly: kind === "rodata" });
      }
    }
  }
  return { map, variables };
}

/** Read `.kconfig` and `.ksyms` externs from the object's BTF and lay out the `.kconfig` map. */
export function readExterns(elf: ElfFile, btf: Btf | undefined, objectName: string): {
  kconfig: KconfigExtern[]; ksyms: KsymExtern[]; kconfigMap: MapSpec | undefined;
} {
  const undef = elf.symbols.filter((s) => s.shndx === SHN_UNDEF && s.name !== "");
  if (undef.length === 0) return { kconfig: [], ksyms: [], kconfigMap: undefined };
  if (!btf) throw new ObjectError("OBJ_NO_BTF", `extern "${undef[0]!.name}" needs BTF to be resolved, but the object has no .BTF section`);
  const weak = new Set(undef.filter((s) => s.bind === STB_WEAK).map((s) => s.name));
  const names = new Set(undef.map((s) => s.name));

  const kconfig: KconfigExtern[] = [];
  const kcSec = btf.find(KCONFIG_MAP, "datasec")[0];
  const kcNames = new Set<string>();
  if (kcSec !== undefined) {
    const ds = btf.type(kcSec);
    if (ds.kind === "datasec") {
      // Lay out like libbpf: in declaration order, each aligned to its own size.
      let off = 0;
      for (const vi of ds.vars) {
        const v = btf.type(vi.type);
        if (v.kind !== "var" || v.linkage !== BTF_VAR_GLOBAL_EXTERN) continue;
        kcNames.add(v.name);
        const t = btf.type(btf.resolve(v.type));
        let valueKind: KconfigExtern["valueKind"];
        let size: number, align: number, signed = false;
        if (t.kind === "int" && t.bool) { valueKind = "bool"; size = 1; align = 1; }
        else if (t.kind === "enum" && t.name === "libbpf_tristate") { valueKind = "tristate"; size = t.size; align = t.size; }
        else if (t.kind === "int") { valueKind = t.size === 1 && t.char ? "bool" : "int"; size = t.size; align = t.size; signed = t.signed; }
        else if (t.kind === "enum") { valueKind = "int"; size = t.size; align = t.size; signed = t.signed; }
        else if (t.kind === "array") {
          const elem = btf.type(btf.resolve(t.elemType));
          if (elem.kind !== "int" || elem.size !== 1) throw new ObjectError("OBJ_BAD_EXTERN", `kconfig extern "${v.name}": arrays must be of char`);
          valueKind = "char_array"; size = t.nelems; align = 1;
        } else {
          throw new ObjectError("OBJ_BAD_EXTERN", `kconfig extern "${v.name}" has unsupported type ${btf.toString(v.type)}`);
        }
        off = Math.ceil(off / align) * align;
        kconfig.push({ name: v.name, offset: off, size, weak: weak.has(v.name), valueKind, signed });
        off += size;
      }
    }
  }
  const ksyms: KsymExtern[] = [];
  for (const id of btf.ids()) {
    const k = btf.kindOf(id);
    if (k !== "var" && k !== "func") continue;
    const name = btf.nameOf(id);
    if (!names.has(name) || kcNames.has(name)) continue;
    const t = btf.type(id);
    if (t.kind === "var" && t.linkage === BTF_VAR_GLOBAL_EXTERN) {
      const target = btf.type(btf.resolve(t.type));
      ksyms.push({ name, kind: "var", weak: weak.has(name), btfTypeId: t.type, typeless: target.kind === "void" });
    } else if (t.kind === "func" && t.linkage === 2) {
      ksyms.push({ name, kind: "func", weak: weak.has(name), btfTypeId: id, typeless: false });
    }
  }
  for (const s of undef) {
    if (!kcNames.has(s.name) && !ksyms.some((k) => k.name === s.name))
      throw new ObjectError("OBJ_BAD_EXTERN", `extern "${s.name}" is neither __kconfig nor __ksym (no BTF declaration in .kconfig/.ksyms)`);
  }
  let kconfigMap: MapSpec | undefined;
  if (kconfig.length) {
    const last = kconfig[kconfig.length - 1]!;
    const size = Math.ceil((last.offset + last.size) / 8) * 8;
    kconfigMap = mapSpec({
      name: KCONFIG_MAP, kernelName: internalMapName(objectName, KCONFIG_MAP), type: "ARRAY", keySize: 4,
      valueSize: size, maxEntries: 1, flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, btfValueTypeId: kcSec ?? 0,
      data: new Uint8Array(size), freeze: true, origin: "kconfig", section: KCONFIG_MAP,
    });
  }
  return { kconfig, ksyms, kconfigMap };
}
