// Symbols and segments of executables and shared libraries (ELF64 little-endian) for uprobes and USDT:
// .symtab/.dynsym lookup and virtual address → file offset through the program headers.

import { ElfError } from "../errors.js";

/** One program header (segment). */
export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
}

/** One section header (name resolved). */
export interface ElfImageSection {
  readonly name: string;
  readonly type: number;
  readonly addr: bigint;
  readonly offset: bigint;
  readonly size: bigint;
  readonly link: number;
  readonly entsize: bigint;
}

/** A symbol of .symtab or .dynsym. */
export interface ElfImageSymbol {
  readonly name: string;
  /** STT_* (2 = FUNC, 10 = GNU_IFUNC). */
  readonly type: number;
  /** STB_* (0 LOCAL, 1 GLOBAL, 2 WEAK). */
  readonly binding: number;
  readonly shndx: number;
  readonly value: bigint;
  readonly size: bigint;
  readonly table: ".symtab" | ".dynsym";
}

/** An executable or shared library as uprobes need it. */
export interface ElfImage {
  /** e_type: 2 EXEC, 3 DYN (PIE or shared library). */
  readonly type: number;
  readonly machine: number;
  readonly segments: readonly ElfSegment[];
  readonly sections: readonly ElfImageSection[];
  readonly bytes: Uint8Array;
  /** Where the image came from, for messages. */
  readonly path: string;
}

export const PT_LOAD = 1;
export const PF_X = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

/**
 * Parse an executable or shared library's headers (segments and sections). Throws ElfError on anything
 * that is not a well-formed 64-bit little-endian ELF file.
 *
 * @example
 * const img = readElfImage(readFileSync("/usr/bin/bash"), "/usr/bin/bash");
 * const { fileOffset } = resolveElfSymbol(img, "main");
 */
export function readElfImage(bytes: Uint8Array, path = "<bytes>"): ElfImage {
  const fail = (why: string): never => {
    throw new ElfError("ELF_MALFORMED", `read ELF ${path}: ${why}`);
  };
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail("not an ELF file");
  if (bytes[4] !== 2) fail("not a 64-bit ELF file");
  if (bytes[5] !== 1) fail("not little-endian");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (off: bigint | number, len: number, what: string) => {
    if (Number(off) + len > bytes.length || Number(off) < 0) fail(`${what} lies outside the file`);
  };
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  const phoff = v.getBigUint64(32, true);
  const shoff = v.getBigUint64(40, true);
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const shentsize = v.getUint16(58, true);
  const shnum = v.getUint16(60, true);
  const shstrndx = v.getUint16(62, true);
  const segments: ElfSegment[] = [];
  if (phnum) {
    if (phentsize < 56) fail(`program header size ${phentsize}`);
    need(phoff, phnum * phentsize, "the program header table");
    for (let i = 0; i < phnum; i++) {
      const o = Number(phoff) + i * phentsize;
      segments.push({
        type: v.getUint32(o, true), flags: v.getUint32(o + 4, true), offset: v.getBigUint64(o + 8, true),
        vaddr: v.getBigUint64(o + 16, true), filesz: v.getBigUint64(o + 32, true), memsz: v.getBigUint64(o + 40, true),
      });
    }
  }
  const raw: Omit<ElfImageSection, "name">[] = [];
  const nameOffsets: number[] = [];
  if (shnum && shoff) {
    if (shentsize < 64) fail(`section header size ${shentsize}`);
    need(shoff, shnum * shentsize, "the section header table");
    for (let i = 0; i < shnum; i++) {
      const o = Number(shoff) + i * shentsize;
      nameOffsets.push(v.getUint32(o, true));
      raw.push({
        type: v.getUint32(o + 4, true), addr: v.getBigUint64(o + 16, true), offset: v.getBigUint64(o + 24, true),
        size: v.getBigUint64(o + 32, true), link: v.getUint32(o + 40, true), entsize: v.getBigUint64(o + 56, true),
      });
    }
  }
  const strtab = shstrndx < raw.length ? raw[shstrndx] : undefined;
  const sections = raw.map((s, i) => ({ ...s, name: strtab ? cstr(bytes, Number(strtab.offset) + nameOffsets[i], Number(strtab.offset + strtab.size)) : "" }));
  return { type, machine, segments, sections, bytes, path };
}

function cstr(bytes: Uint8Array, start: number, limit: number): string {
  let end = start;
  const max = Math.min(limit, bytes.length);
  while (end < max && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}

/** The section named `name`, if any. */
export function elfSection(img: ElfImage, name: string): ElfImageSection | undefined {
  return img.sections.find((s) => s.name === name);
}

/** Every symbol of .symtab and .dynsym (in that order). */
export function elfSymbols(img: ElfImage): ElfImageSymbol[] {
  const out: ElfImageSymbol[] = [];
  for (const [type, table] of [[SHT_SYMTAB, ".symtab"], [SHT_DYNSYM, ".dynsym"]] as const) {
    const sec = img.sections.find((s) => s.type === type);
    if (!sec || sec.link >= img.sections.length) continue;
    const str = img.sections[sec.link];
    const start = Number(sec.offset);
    const count = Math.floor(Number(sec.size) / 24);
    if (start + count * 24 > img.bytes.length) throw new ElfError("ELF_MALFORMED", `read ELF ${img.path}: ${table} lies outside the file`);
    const v = new DataView(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength);
    for (let i = 1; i < count; i++) {
      const o = start + i * 24;
      const info = v.getUint8(o + 4);
      out.push({
        name: cstr(img.bytes, Number(str.offset) + v.getUint32(o, true), Number(str.offset + str.size)),
        type: info & 0xf, binding: info >> 4, shndx: v.getUint16(o + 6, true),
        value: v.getBigUint64(o + 8, true), size: v.getBigUint64(o + 16, true), table,
      });
    }
  }
  return out;
}

/**
 * The file offset of virtual address `addr`: found in the PT_LOAD segment that contains it (with
 * `executable`, only in an executable one), else in the section that contains it.
 */
export function elfAddressToOffset(img: ElfImage, addr: bigint, executable = false): bigint | undefined {
  for (const s of img.segments) {
    if (s.type !== PT_LOAD || (executable && !(s.flags & PF_X))) continue;
    if (addr >= s.vaddr && addr < s.vaddr + s.memsz) return addr - s.vaddr + s.offset;
  }
  if (img.segments.length === 0) {
    for (const s of img.sections) if (s.addr && addr >= s.addr && addr < s.addr + s.size) return addr - s.addr + s.offset;
  }
  return undefined;
}

/** A resolved function symbol: its virtual address and file offset (what uprobes take). */
export interface ResolvedElfSymbol {
  readonly name: string;
  readonly address: bigint;
  readonly fileOffset: bigint;
  readonly size: bigint;
}

/**
 * Resolve function `name` (a `name@VERSION` suffix is ignored) in .symtab, then .dynsym; a defined
 * GLOBAL symbol wins over WEAK over LOCAL. Throws TsbpfError SYMBOL_NOT_FOUND when absent.
 */
export function resolveElfSymbol(img: ElfImage, name: string): ResolvedElfSymbol {
  const plain = name.replace(/@.*$/, "");
  const rank = (b: number) => (b === 1 ? 0 : b === 2 ? 1 : 2);
  let best: ElfImageSymbol | undefined;
  for (const s of elfSymbols(img)) {
    if (s.name !== plain || s.shndx === 0 || (s.type !== STT_FUNC && s.type !== STT_GNU_IFUNC)) continue;
    if (!best || rank(s.binding) < rank(best.binding)) best = s;
  }
  if (!best) throw new ElfError("SYMBOL_NOT_FOUND", `resolve symbol "${plain}" in ${img.path}: no function of that name in .symtab or .dynsym`);
  const fileOffset = elfAddressToOffset(img, best.value, true) ?? elfAddressToOffset(img, best.value);
  if (fileOffset === undefined) throw new ElfError("SYMBOL_NOT_FOUND", `resolve symbol "${plain}" in ${img.path}: address 0x${best.value.toString(16)} is in no loaded segment`);
  return { name: plain, address: best.value, fileOffset, size: best.size };
}
