// Reader for ELF64 little-endian objects (what clang -target bpf emits): header, sections, symbols, relocations.
// Every offset is bounds-checked; malformed input raises ElfError, never a RangeError.

import { ElfError } from "../errors.js";
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from "./types.js";
import { SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB } from "./types.js";

/** Options for {@link readElf}. */
export interface ReadElfOptions {
  /** Require this e_machine (e.g. EM_BPF); a different one raises ElfError `ELF_WRONG_MACHINE`. */
  readonly machine?: number;
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;
/** sh_type of the table holding extended section indices for symbols. */
export const SHT_SYMTAB_SHNDX = 18;
/** Marker: "the real value is elsewhere" (e_shstrndx in section 0's sh_link; st_shndx in SHT_SYMTAB_SHNDX). */
export const SHN_XINDEX = 0xffff;
/** First reserved section index (SHN_LORESERVE). */
export const SHN_LORESERVE = 0xff00;

const utf8 = new TextDecoder("utf-8");

/** Bounds-checked little-endian reads over the whole file. */
class Cursor {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new ElfError(
        "ELF_TRUNCATED",
        `read ELF: ${what} at offset ${off} (+${len} bytes) is past the end of the file (${this.bytes.length} bytes)`,
      );
    }
  }
  u8(off: number): number { return this.view.getUint8(off); }
  u16(off: number): number { return this.view.getUint16(off, true); }
  u32(off: number): number { return this.view.getUint32(off, true); }
  /** A u64 as a number; values above 2^53 raise ElfError (no offset or size in a real object is that big). */
  u64(off: number, what: string): number {
    const lo = this.view.getUint32(off, true);
    const hi = this.view.getUint32(off + 4, true);
    if (hi > 0x1fffff) {
      throw new ElfError("ELF_BAD_VALUE", `read ELF: ${what} at offset ${off} is too large (0x${hi.toString(16)}${lo.toString(16).padStart(8, "0")})`);
    }
    return hi * 0x1_0000_0000 + lo;
  }
  i64(off: number): bigint { return this.view.getBigInt64(off, true); }
}

/** A NUL-terminated string at `off` inside a string-table section. */
function cString(table: ElfSection, off: number, what: string): string {
  const data = table.data;
  if (off >= data.length) {
    if (off === 0) return ""; // an empty string table only has the empty string
    throw new ElfError(
      "ELF_BAD_STRING",
      `read ELF: ${what} name offset ${off} is outside string table "${table.name}" (section ${table.index}, ${data.length} bytes)`,
    );
  }
  const end = data.indexOf(0, off);
  if (end < 0) {
    throw new ElfError("ELF_BAD_STRING", `read ELF: ${what} name at offset ${off} in string table section ${table.index} is not NUL-terminated`);
  }
  return utf8.decode(data.subarray(off, end));
}

interface RawSection {
  nameOff: number; type: number; flags: number; offset: number; size: number;
  link: number; info: number; addralign: number; entsize: number;
}

class ParsedElf implements ElfFile {
  readonly machine: number;
  readonly type: number;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  readonly #byName: Map<string, ElfSection>;
  readonly #relocs: Map<number, ElfRelocation[]>;

  constructor(machine: number, type: number, sections: ElfSection[], symbols: ElfSymbol[], relocs: Map<number, ElfRelocation[]>) {
    this.machine = machine;
    this.type = type;
    this.sections = sections;
    this.symbols = symbols;
    this.#relocs = relocs;
    this.#byName = new Map();
    for (const s of sections) if (s.index !== 0 && !this.#byName.has(s.name)) this.#byName.set(s.name, s);
  }

  section(name: string): ElfSection | undefined {
    return this.#byName.get(name);
  }

  relocations(sectionIndex: number): readonly ElfRelocation[] {
    return this.#relocs.get(sectionIndex) ?? [];
  }
}

/**
 * Parse an ELF64 little-endian object.
 *
 * Validates the header (magic, ELFCLASS64, ELFDATA2LSB, version), every section's bounds, sh_link/sh_info
 * of symbol and relocation sections, the section-name table, the symbol table (names, section indices)
 * and SHT_REL/SHT_RELA entries (symbol index, offset inside the target section). Extended section
 * numbering (e_shnum == 0, e_shstrndx == SHN_XINDEX, SHT_SYMTAB_SHNDX) is supported.
 * Section data are views into `bytes` (no copy).
 *
 * @throws ElfError with code `ELF_TRUNCATED`, `ELF_BAD_MAGIC`, `ELF_WRONG_CLASS`, `ELF_WRONG_ENDIAN`,
 *   `ELF_BAD_VERSION`, `ELF_WRONG_MACHINE`, `ELF_BAD_HEADER`, `ELF_BAD_SECTION`, `ELF_BAD_STRING`,
 *   `ELF_BAD_SYMBOL`, `ELF_BAD_RELOCATION` or `ELF_BAD_VALUE`.
 *
 * @example
 * const elf = readElf(readFileSync("prog.o"), { machine: EM_BPF });
 * const text = elf.section(".text");
 */
export function readElf(bytes: Uint8Array, options: ReadElfOptions = {}): ElfFile {
  const c = new Cursor(bytes);
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    if (bytes.length < 4 && [0x7f, 0x45, 0x4c, 0x46].slice(0, bytes.length).every((b, i) => bytes[i] === b)) {
      throw new ElfError("ELF_TRUNCATED", `read ELF: file is ${bytes.length} bytes, shorter than the ELF header (64 bytes)`);
    }
    throw new ElfError("ELF_BAD_MAGIC", "read ELF: not an ELF file (bad magic at offset 0, expected 7f 45 4c 46)");
  }
  if (bytes.length < EHDR_SIZE) {
    throw new ElfError("ELF_TRUNCATED", `read ELF: file is ${bytes.length} bytes, shorter than the ELF64 header (64 bytes)`);
  }
  if (bytes[4] !== 2) throw new ElfError("ELF_WRONG_CLASS", `read ELF: EI_CLASS at offset 4 is ${bytes[4]}, only ELFCLASS64 (2) is supported`);
  if (bytes[5] !== 1) {
    throw new ElfError("ELF_WRONG_ENDIAN", `read ELF: EI_DATA at offset 5 is ${bytes[5]}, only little-endian (ELFDATA2LSB = 1) objects are supported`);
  }
  if (bytes[6] !== 1) throw new ElfError("ELF_BAD_VERSION", `read ELF: EI_VERSION at offset 6 is ${bytes[6]}, expected 1`);
  const type = c.u16(16);
  const machine = c.u16(18);
  const version = c.u32(20);
  if (version !== 1) throw new ElfError("ELF_BAD_VERSION", `read ELF: e_version at offset 20 is ${version}, expected 1`);
  if (options.machine !== undefined && machine !== options.machine) {
    throw new ElfError("ELF_WRONG_MACHINE", `read ELF: e_machine is ${machine}, expected ${options.machine}${options.machine === 247 ? " (EM_BPF)" : ""}`);
  }
  const shoff = c.u64(40, "e_shoff");
  const shentsize = c.u16(58);
  let shnum = c.u16(60);
  let shstrndx = c.u16(62);

  const raw: RawSection[] = [];
  if (shoff !== 0) {
    if (shentsize !== SHDR_SIZE) {
      throw new ElfError("ELF_BAD_HEADER", `read ELF: e_shentsize at offset 58 is ${shentsize}, expected ${SHDR_SIZE}`);
    }
    c.need(shoff, SHDR_SIZE, "section header 0");
    if (shnum === 0) shnum = c.u64(shoff + 32, "section 0 sh_size (extended e_shnum)");
    if (shstrndx === SHN_XINDEX) shstrndx = c.u32(shoff + 40);
    if (shnum > (bytes.length - shoff) / SHDR_SIZE) {
      throw new ElfError(
        "ELF_TRUNCATED",
        `read ELF: section header table at offset ${shoff} with ${shnum} entries (${shnum * SHDR_SIZE} bytes) is past the end of the file (${bytes.length} bytes)`,
      );
    }
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * SHDR_SIZE;
      raw.push({
        nameOff: c.u32(h),
        type: c.u32(h + 4),
        flags: c.u64(h + 8, `section ${i} sh_flags`),
        offset: c.u64(h + 24, `section ${i} sh_offset`),
        size: c.u64(h + 32, `section ${i} sh_size`),
        link: c.u32(h + 40),
        info: c.u32(h + 44),
        addralign: c.u64(h + 48, `section ${i} sh_addralign`),
        entsize: c.u64(h + 56, `section ${i} sh_entsize`),
      });
    }
  } else if (shnum !== 0) {
    throw new ElfError("ELF_BAD_HEADER", `read ELF: e_shnum is ${shnum} but e_shoff is 0`);
  }

  // Bounds of every section's contents.
  raw.forEach((s, i) => {
    if (i === 0 || s.type === SHT_NOBITS || s.type === SHT_NULL) return;
    if (s.offset + s.size > bytes.length) {
      throw new ElfError(
        "ELF_TRUNCATED",
        `read ELF: section ${i} (type ${s.type}) data at offset ${s.offset} (+${s.size} bytes) is past the end of the file (${bytes.length} bytes)`,
      );
    }
  });

  // Section names.
  let shstr: ElfSection | undefined;
  if (raw.length > 0) {
    if (shstrndx === 0 || shstrndx >= raw.length) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: e_shstrndx ${shstrndx} is not a valid section index (${raw.length} sections)`);
    }
    const r = raw[shstrndx];
    if (r.type !== SHT_STRTAB) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: section-name table (section ${shstrndx}) has type ${r.type}, expected SHT_STRTAB (3)`);
    }
    shstr = makeSection(bytes, shstrndx, "", r);
  }
  const sections: ElfSection[] = raw.map((r, i) =>
    makeSection(bytes, i, i === 0 || !shstr ? "" : cString(shstr, r.nameOff, `section ${i}`), r));

  // Symbol table (relocatable objects have at most one).
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) {
    throw new ElfError("ELF_BAD_SECTION", `read ELF: ${symtabs.length} SHT_SYMTAB sections (${symtabs.map((s) => s.index).join(", ")}), expected at most one`);
  }
  const symtab = symtabs[0];
  const symbols = symtab ? readSymbols(c, sections, symtab) : [];

  // Relocations, merged per target section.
  const relocs = new Map<number, ElfRelocation[]>();
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    const what = `relocation section "${s.name}" (section ${s.index})`;
    const entSize = s.type === SHT_RELA ? RELA_SIZE : REL_SIZE;
    if (s.entsize !== 0 && s.entsize !== entSize) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} has sh_entsize ${s.entsize}, expected ${entSize}`);
    }
    if (s.size % entSize !== 0) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} size ${s.size} is not a multiple of ${entSize}`);
    }
    if (!symtab || s.link !== symtab.index) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} sh_link ${s.link} does not name the symbol table${symtab ? ` (section ${symtab.index})` : " (there is none)"}`);
    }
    if (s.info === 0 || s.info >= sections.length) {
      throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} sh_info ${s.info} is not a valid target section index (${sections.length} sections)`);
    }
    const target = sections[s.info];
    let list = relocs.get(target.index);
    if (!list) relocs.set(target.index, (list = []));
    const count = s.size / entSize;
    for (let i = 0; i < count; i++) {
      const e = s.offset + i * entSize;
      const offset = c.u64(e, `${what} entry ${i} r_offset`);
      const rtype = c.u32(e + 8);
      const symbol = c.u32(e + 12);
      const addend = s.type === SHT_RELA ? c.i64(e + 16) : 0n;
      if (symbol >= symbols.length) {
        throw new ElfError("ELF_BAD_RELOCATION", `read ELF: ${what} entry ${i} refers to symbol ${symbol}, but the symbol table has ${symbols.length} entries`);
      }
      if (offset >= target.size) {
        throw new ElfError(
          "ELF_BAD_RELOCATION",
          `read ELF: ${what} entry ${i} offset ${offset} is outside target section "${target.name}" (${target.size} bytes)`,
        );
      }
      list.push({ offset, symbol, type: rtype, addend });
    }
  }
  for (const list of relocs.values()) list.sort((a, b) => a.offset - b.offset);

  return new ParsedElf(machine, type, sections, symbols, relocs);
}

function makeSection(bytes: Uint8Array, index: number, name: string, r: RawSection): ElfSection {
  const hasData = index !== 0 && r.type !== SHT_NOBITS && r.type !== SHT_NULL;
  return {
    index, name, type: r.type, flags: r.flags, offset: r.offset, size: r.size, link: r.link, info: r.info,
    addralign: r.addralign, entsize: r.entsize,
    data: hasData ? bytes.subarray(r.offset, r.offset + r.size) : new Uint8Array(0),
  };
}

function readSymbols(c: Cursor, sections: ElfSection[], symtab: ElfSection): ElfSymbol[] {
  const what = `symbol table "${symtab.name}" (section ${symtab.index})`;
  if (symtab.entsize !== 0 && symtab.entsize !== SYM_SIZE) {
    throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} has sh_entsize ${symtab.entsize}, expected ${SYM_SIZE}`);
  }
  if (symtab.size % SYM_SIZE !== 0) {
    throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} size ${symtab.size} is not a multiple of ${SYM_SIZE}`);
  }
  if (symtab.link === 0 || symtab.link >= sections.length || sections[symtab.link].type !== SHT_STRTAB) {
    throw new ElfError("ELF_BAD_SECTION", `read ELF: ${what} sh_link ${symtab.link} is not a string table section`);
  }
  const strtab = sections[symtab.link];
  const count = symtab.size / SYM_SIZE;
  // Extended section indices, if any symbol needs them.
  const xindex = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const symbols: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const e = symtab.offset + i * SYM_SIZE;
    const nameOff = c.u32(e);
    const stInfo = c.u8(e + 4);
    const other = c.u8(e + 5);
    let shndx = c.u16(e + 6);
    if (shndx === SHN_XINDEX) {
      if (!xindex || (i + 1) * 4 > xindex.size) {
        throw new ElfError("ELF_BAD_SYMBOL", `read ELF: symbol ${i} uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX entry for it`);
      }
      shndx = c.u32(xindex.offset + i * 4);
    }
    if (shndx !== 0 && shndx < SHN_LORESERVE && shndx >= sections.length) {
      throw new ElfError("ELF_BAD_SYMBOL", `read ELF: symbol ${i} in ${what} refers to section ${shndx}, but there are ${sections.length} sections`);
    }
    symbols.push({
      index: i,
      name: cString(strtab, nameOff, `symbol ${i}`),
      value: c.u64(e + 8, `symbol ${i} st_value`),
      size: c.u64(e + 16, `symbol ${i} st_size`),
      type: stInfo & 0xf,
      bind: stInfo >> 4,
      visibility: other & 0x3,
      shndx,
    });
  }
  return symbols;
}
