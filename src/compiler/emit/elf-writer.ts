// Serialises an ELF64 little-endian relocatable object (EM_BPF) from a list of sections and a symbol
// table: header, section contents (aligned), .symtab, one .strtab for section and symbol names, headers.

import {
  EM_BPF, ET_REL, SHT_NOBITS, SHT_REL, SHT_STRTAB, SHT_SYMTAB, STB_LOCAL,
} from "../../elf/types.js";
import { emitError } from "./errors.js";

/** A section to write. Index 0 (the null section) is implicit; `.symtab` and `.strtab` are added last. */
export interface OutSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** Contents; for SHT_NOBITS only `size` counts. */
  readonly data: Uint8Array;
  /** SHT_NOBITS size (defaults to data.length). */
  readonly size?: number;
  readonly addralign: number;
  readonly entsize?: number;
  /** For SHT_REL: index (in the final numbering) of the section the relocations apply to. */
  readonly info?: number;
}

/** A symbol to write; `section` is a final section index (0 = undefined). */
export interface OutSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly type: number;
  readonly bind: number;
  readonly visibility?: number;
  readonly section: number;
}

/** One REL entry: byte offset in the target section, symbol index in .symtab, R_BPF_* type. */
export interface OutRelocation {
  readonly offset: number;
  readonly symbol: number;
  readonly type: number;
}

const EHDR_SIZE = 64, SHDR_SIZE = 64, SYM_SIZE = 24, REL_SIZE = 16;

/** A string table with deduplication; offset 0 is the empty string. */
export class StringTable {
  readonly #offsets = new Map<string, number>();
  readonly #parts: Uint8Array[] = [new Uint8Array(1)];
  #length = 1;

  /** Offset of `s`, adding it if new. */
  add(s: string): number {
    if (s === "") return 0;
    const known = this.#offsets.get(s);
    if (known !== undefined) return known;
    const bytes = new TextEncoder().encode(s);
    if (bytes.includes(0)) throw emitError("EMIT_BAD_NAME", `name ${JSON.stringify(s)} contains a NUL character`);
    const off = this.#length;
    this.#parts.push(bytes, new Uint8Array(1));
    this.#length += bytes.length + 1;
    this.#offsets.set(s, off);
    return off;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let p = 0;
    for (const part of this.#parts) { out.set(part, p); p += part.length; }
    return out;
  }
}

/** Encode REL entries (r_offset, r_info = sym << 32 | type). */
export function encodeRelocations(relocs: readonly OutRelocation[]): Uint8Array {
  const out = new Uint8Array(relocs.length * REL_SIZE);
  const v = new DataView(out.buffer);
  relocs.forEach((r, i) => {
    v.setBigUint64(i * REL_SIZE, BigInt(r.offset), true);
    v.setBigUint64(i * REL_SIZE + 8, (BigInt(r.symbol) << 32n) | BigInt(r.type), true);
  });
  return out;
}

const align = (n: number, a: number): number => (a > 1 ? Math.ceil(n / a) * a : n);

/**
 * Write the object. Sections get indices 1..n in the given order, then `.symtab` (n+1) and `.strtab`
 * (n+2), which also holds the section names. SHT_REL sections link to .symtab automatically. Symbols
 * must be sorted locals first; index 0 (the null symbol) is implicit.
 */
export function writeElf(sections: readonly OutSection[], symbols: readonly OutSymbol[]): Uint8Array {
  const strtab = new StringTable();
  const symtabIndex = sections.length + 1;
  const strtabIndex = sections.length + 2;
  const names = sections.map((s) => strtab.add(s.name));
  const symtabName = strtab.add(".symtab");
  const strtabName = strtab.add(".strtab");

  // .symtab
  const symtab = new Uint8Array((symbols.length + 1) * SYM_SIZE);
  const sv = new DataView(symtab.buffer);
  let firstGlobal = symbols.length + 1;
  symbols.forEach((s, i) => {
    const p = (i + 1) * SYM_SIZE;
    if (s.bind !== STB_LOCAL && firstGlobal > symbols.length) firstGlobal = i + 1;
    else if (s.bind === STB_LOCAL && firstGlobal <= symbols.length) {
      throw emitError("EMIT_BAD_NAME", `symbol "${s.name}" is local but follows a global symbol`);
    }
    sv.setUint32(p, strtab.add(s.name), true);
    sv.setUint8(p + 4, ((s.bind & 0xf) << 4) | (s.type & 0xf));
    sv.setUint8(p + 5, (s.visibility ?? 0) & 0x3);
    sv.setUint16(p + 6, s.section, true);
    sv.setBigUint64(p + 8, BigInt(s.value), true);
    sv.setBigUint64(p + 16, BigInt(s.size), true);
  });
  const strtabBytes = strtab.bytes();

  interface Placed { name: number; type: number; flags: number; offset: number; size: number; link: number; info: number; addralign: number; entsize: number; data?: Uint8Array }
  const placed: Placed[] = [];
  let offset = EHDR_SIZE;
  const place = (name: number, type: number, flags: number, data: Uint8Array, size: number, link: number, info: number, addralign: number, entsize: number) => {
    if (type === SHT_NOBITS) {
      offset = align(offset, addralign);
      placed.push({ name, type, flags, offset, size, link, info, addralign, entsize });
      return;
    }
    offset = align(offset, addralign);
    placed.push({ name, type, flags, offset, size: data.length, link, info, addralign, entsize, data });
    offset += data.length;
  };
  sections.forEach((s, i) => {
    const isRel = s.type === SHT_REL;
    place(names[i]!, s.type, s.flags, s.data, s.size ?? s.data.length, isRel ? symtabIndex : 0, s.info ?? 0, s.addralign, s.entsize ?? (isRel ? REL_SIZE : 0));
  });
  place(symtabName, SHT_SYMTAB, 0, symtab, symtab.length, strtabIndex, firstGlobal, 8, SYM_SIZE);
  place(strtabName, SHT_STRTAB, 0, strtabBytes, strtabBytes.length, 0, 0, 1, 0);
  const shoff = align(offset, 8);
  const shnum = placed.length + 1;
  const out = new Uint8Array(shoff + shnum * SHDR_SIZE);
  const v = new DataView(out.buffer);

  // ELF header.
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* SYSV */], 0);
  v.setUint16(16, ET_REL, true);
  v.setUint16(18, EM_BPF, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, 0n, true); // e_entry
  v.setBigUint64(32, 0n, true); // e_phoff
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint32(48, 0, true); // e_flags
  v.setUint16(52, EHDR_SIZE, true);
  v.setUint16(54, 0, true); // e_phentsize
  v.setUint16(56, 0, true); // e_phnum
  v.setUint16(58, SHDR_SIZE, true);
  v.setUint16(60, shnum, true);
  v.setUint16(62, strtabIndex, true);

  // Contents and section headers (header 0 stays all zero: SHT_NULL).
  placed.forEach((s, i) => {
    if (s.data) out.set(s.data, s.offset);
    const h = shoff + (i + 1) * SHDR_SIZE;
    v.setUint32(h, s.name, true);
    v.setUint32(h + 4, s.type, true);
    v.setBigUint64(h + 8, BigInt(s.flags), true);
    v.setBigUint64(h + 16, 0n, true); // sh_addr
    v.setBigUint64(h + 24, BigInt(s.offset), true);
    v.setBigUint64(h + 32, BigInt(s.size), true);
    v.setUint32(h + 40, s.link, true);
    v.setUint32(h + 44, s.info, true);
    v.setBigUint64(h + 48, BigInt(s.addralign), true);
    v.setBigUint64(h + 56, BigInt(s.entsize), true);
  });
  return out;
}
