// Unit tests of the ELF64 reader: clang objects compared with llvm-readelf, REL and RELA, extended numbering, bad input.
// Objects are compiled at test time (clang -target bpf, and x86_64 for RELA), cached by content (compileCText).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { readElf } from "../../src/elf/reader.js";
import type { ElfFile } from "../../src/elf/types.js";
import { EM_BPF, ET_REL, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_SYMTAB } from "../../src/elf/types.js";
import { ElfError } from "../../src/errors.js";
import { compileCText, compileFixture, hasTool, run } from "../helpers/toolchain.js";
import { TYPES_C } from "../helpers/c-sources.js";

const X86_C = `
extern int ext; extern void f(int);
int g = 5; static int arr[4] = {1, 2, 3, 4};
int *pg = &g; int *pa = &arr[2];
void h(void) { f(ext + arr[1]); }
`;

const SHT_NAMES: Record<string, number> = {
  NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOBITS: 8, REL: 9, LLVM_ADDRSIG: 0x6fff4c03, X86_64_UNWIND: 0x70000001,
};
const STT: Record<string, number> = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 };
const STB: Record<string, number> = { LOCAL: 0, GLOBAL: 1, WEAK: 2 };
const STV: Record<string, number> = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 };
const NDX: Record<string, number> = { UND: 0, ABS: 0xfff1, COM: 0xfff2 };

function throwsElf(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ElfError, `expected ElfError, got ${String(e)}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Compare sections, symbols and relocations with llvm-readelf's GNU-style output. */
function compareWithReadelf(path: string, elf: ElfFile): void {
  // Sections.
  const secLines = run("llvm-readelf", ["-S", "-W", path]).split("\n");
  const secRe = /^\s*\[\s*(\d+)\]\s(.*?)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;
  let n = 0;
  for (const line of secLines) {
    const m = secRe.exec(line);
    if (!m) continue;
    const s = elf.sections[Number(m[1])];
    assert.ok(s, `section ${m[1]}`);
    const name = m[2].trim();
    assert.equal(s.name, name);
    if (m[3] in SHT_NAMES) assert.equal(s.type, SHT_NAMES[m[3]], `type of ${s.name}`);
    assert.equal(s.offset, parseInt(m[5], 16), `offset of ${s.name}`);
    assert.equal(s.size, parseInt(m[6], 16), `size of ${s.name}`);
    assert.equal(s.entsize, parseInt(m[7], 16), `entsize of ${s.name}`);
    const flags = m[8];
    assert.equal((s.flags & SHF_WRITE) !== 0, flags.includes("W"), `W flag of ${s.name}`);
    assert.equal((s.flags & SHF_ALLOC) !== 0, flags.includes("A"), `A flag of ${s.name}`);
    assert.equal((s.flags & SHF_EXECINSTR) !== 0, flags.includes("X"), `X flag of ${s.name}`);
    assert.equal(s.link, Number(m[9]));
    assert.equal(s.info, Number(m[10]));
    assert.equal(s.addralign, Number(m[11]));
    assert.equal(s.data.length, s.type === SHT_NOBITS || s.index === 0 ? 0 : s.size);
    n++;
  }
  assert.equal(n, elf.sections.length, "every section compared");

  // Symbols.
  const symRe = /^\s*(\d+):\s+([0-9a-f]{16})\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$/;
  let k = 0;
  for (const line of run("llvm-readelf", ["-s", "-W", path]).split("\n")) {
    const m = symRe.exec(line);
    if (!m) continue;
    const sym = elf.symbols[Number(m[1])];
    assert.ok(sym, `symbol ${m[1]}`);
    assert.equal(sym.value, parseInt(m[2], 16));
    assert.equal(sym.size, m[3].startsWith("0x") ? parseInt(m[3], 16) : Number(m[3]));
    assert.equal(sym.type, STT[m[4]], `type of symbol ${m[1]}`);
    assert.equal(sym.bind, STB[m[5]], `bind of symbol ${m[1]}`);
    assert.equal(sym.visibility, STV[m[6]], `visibility of symbol ${m[1]}`);
    assert.equal(sym.shndx, NDX[m[7]] ?? Number(m[7]), `section of symbol ${m[1]}`);
    if (sym.type === STT.SECTION) assert.equal(elf.sections[sym.shndx].name, m[8]);
    else assert.equal(sym.name, m[8]);
    k++;
  }
  assert.equal(k, elf.symbols.length, "every symbol compared");

  // Relocations, per relocation section.
  const want = new Map<string, { offset: number; symbol: number; type: number; addend: bigint }[]>();
  let current: string | undefined;
  const relRe = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+\S+\s+[0-9a-f]{16}\s*(.*?)(?:\s([+-])\s([0-9a-f]+))?$/;
  for (const line of run("llvm-readelf", ["-r", "-W", path]).split("\n")) {
    const h = /^Relocation section '(.+)' at offset/.exec(line);
    if (h) {
      current = h[1];
      want.set(current, []);
      continue;
    }
    const m = relRe.exec(line);
    if (!m || !current) continue;
    const info = BigInt(`0x${m[2]}`);
    const addend = m[4] ? (m[4] === "-" ? -1n : 1n) * BigInt(`0x${m[5]}`) : 0n;
    want.get(current)!.push({ offset: parseInt(m[1], 16), symbol: Number(info >> 32n), type: Number(info & 0xffffffffn), addend });
  }
  let relSections = 0;
  for (const s of elf.sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    relSections++;
    const expected = want.get(s.name);
    assert.ok(expected, `llvm-readelf lists ${s.name}`);
    const got = elf.relocations(s.info);
    const sort = <T extends { offset: number }>(l: readonly T[]): T[] => [...l].sort((a, b) => a.offset - b.offset);
    assert.deepEqual(sort(got), sort(expected), s.name);
  }
  assert.equal(relSections, want.size);
}

const tools = hasTool("llvm-readelf") ? {} : { skip: "llvm-readelf missing" };

describe("ELF reader on clang objects", () => {
  const bpf = compileCText(TYPES_C, { name: "btf-types" });

  test("BPF object: header, sections, symbols and REL relocations match llvm-readelf", tools, () => {
    const elf = readElf(bpf.bytes, { machine: EM_BPF });
    assert.equal(elf.machine, EM_BPF);
    assert.equal(elf.type, ET_REL);
    compareWithReadelf(bpf.path, elf);
    // Spot checks of what the loader relies on.
    const xdp = elf.section("xdp")!;
    assert.ok(xdp.flags & SHF_EXECINSTR);
    assert.equal(xdp.data.length % 8, 0);
    const relocs = elf.relocations(xdp.index);
    const names = relocs.map((r) => elf.symbols[r.symbol]);
    assert.ok(names.some((s) => s.name === "nodes"), "map relocation");
    assert.ok(names.some((s) => s.name === "global_fn"), "call relocation");
    assert.ok(relocs.every((r) => r.addend === 0n));
    assert.equal(elf.sections.filter((s) => s.type === SHT_SYMTAB).length, 1);
    assert.equal(elf.section("no such section"), undefined);
    assert.deepEqual(elf.relocations(9999), []);
    assert.equal(elf.section(".bss")!.type, SHT_NOBITS);
  });

  test("every fixture object matches llvm-readelf", tools, () => {
    const dir = new URL("../fixtures/c/", import.meta.url).pathname;
    let checked = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".c"))) {
      let o;
      try {
        o = compileFixture(file);
      } catch {
        continue;
      }
      compareWithReadelf(o.path, readElf(o.bytes, { machine: EM_BPF }));
      checked++;
    }
    assert.ok(checked >= 3);
  });

  test("x86-64 object: SHT_RELA with addends; machine check", tools, () => {
    const x86 = compileCText(X86_C, { name: "elf-x86", flags: ["-O2", "-target", "x86_64-linux-gnu"] });
    const elf = readElf(x86.bytes);
    assert.equal(elf.machine, 62);
    assert.ok(elf.sections.some((s) => s.type === SHT_RELA));
    compareWithReadelf(x86.path, elf);
    assert.ok(elf.relocations(elf.section(".text")!.index).some((r) => r.addend === -4n));
    throwsElf(() => readElf(x86.bytes, { machine: EM_BPF }), "ELF_WRONG_MACHINE");
  });
});

/** Patch helpers over a copy of an object. */
function patched(bytes: Uint8Array, f: (v: DataView, shoff: number) => void): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  f(v, Number(v.getBigUint64(40, true)));
  return b;
}

describe("ELF reader on bad input", () => {
  const bpf = compileCText(TYPES_C, { name: "btf-types" }).bytes;
  const elf = readElf(bpf);
  const idx = (name: string): number => elf.section(name)!.index;
  const shdr = (shoff: number, i: number): number => shoff + i * 64;

  test("every truncated prefix is an ElfError", () => {
    for (let len = 0; len < bpf.length; len++) throwsElf(() => readElf(bpf.subarray(0, len)));
    throwsElf(() => readElf(bpf.subarray(0, 3)), "ELF_TRUNCATED");
    throwsElf(() => readElf(bpf.subarray(0, 40)), "ELF_TRUNCATED");
    throwsElf(() => readElf(bpf.subarray(0, bpf.length - 1)), "ELF_TRUNCATED");
  });

  test("identification and header errors", () => {
    throwsElf(() => readElf(new TextEncoder().encode("#!/bin/sh\necho not an object\n")), "ELF_BAD_MAGIC");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint8(4, 1))), "ELF_WRONG_CLASS");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint8(5, 2))), "ELF_WRONG_ENDIAN");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint8(6, 0))), "ELF_BAD_VERSION");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint32(20, 2, true))), "ELF_BAD_VERSION");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(18, 62, true)), { machine: EM_BPF }), "ELF_WRONG_MACHINE");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(58, 40, true))), "ELF_BAD_HEADER");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(60, 0xfff0, true))), "ELF_TRUNCATED");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(62, 0xfff0, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(62, idx(".text"), true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v) => v.setBigUint64(40, 1n << 60n, true))), "ELF_BAD_VALUE");
    throwsElf(() => readElf(patched(bpf, (v) => v.setBigUint64(40, 0xffff_ffffn, true))), "ELF_TRUNCATED");
  });

  test("section errors: data past the end, names, links", () => {
    const text = idx(".text");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setBigUint64(shdr(o, text) + 24, BigInt(bpf.length - 4), true))), "ELF_TRUNCATED");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setBigUint64(shdr(o, text) + 32, 1n << 40n, true))), "ELF_TRUNCATED");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, text), 0xfffffff, true))), "ELF_BAD_STRING");
    const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!.index;
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, symtab) + 40, text, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, symtab) + 40, 5000, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setBigUint64(shdr(o, symtab) + 56, 16n, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, text) + 4, SHT_SYMTAB, true))), "ELF_BAD_SECTION");
    const rel = idx(".relxdp");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, rel) + 40, text, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, rel) + 44, 7777, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setUint32(shdr(o, rel) + 44, 0, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setBigUint64(shdr(o, rel) + 32, 20n, true))), "ELF_BAD_SECTION");
    throwsElf(() => readElf(patched(bpf, (v, o) => v.setBigUint64(shdr(o, rel) + 56, 24n, true))), "ELF_BAD_SECTION");
  });

  test("symbol and relocation entry errors", () => {
    const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
    const sym = (i: number): number => symtab.offset + i * 24;
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint32(sym(3), 0xffffff, true))), "ELF_BAD_STRING");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(sym(3) + 6, 900, true))), "ELF_BAD_SYMBOL");
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint16(sym(3) + 6, 0xffff, true))), "ELF_BAD_SYMBOL");
    throwsElf(() => readElf(patched(bpf, (v) => v.setBigUint64(sym(3) + 8, 1n << 63n, true))), "ELF_BAD_VALUE");
    const rel = elf.section(".relxdp")!;
    throwsElf(() => readElf(patched(bpf, (v) => v.setUint32(rel.offset + 12, 10_000, true))), "ELF_BAD_RELOCATION");
    throwsElf(() => readElf(patched(bpf, (v) => v.setBigUint64(rel.offset, 1n << 20n, true))), "ELF_BAD_RELOCATION");
    // a string table without its final NUL
    const strtab = elf.sections[symtab.link];
    const b = bpf.slice();
    b.fill(0x41, strtab.offset, strtab.offset + strtab.size);
    throwsElf(() => readElf(b), "ELF_BAD_STRING");
  });

  test("extended section numbering (e_shnum = 0, e_shstrndx = SHN_XINDEX) reads the same file", () => {
    const ext = patched(bpf, (v, o) => {
      const shnum = v.getUint16(60, true);
      const shstrndx = v.getUint16(62, true);
      v.setUint16(60, 0, true);
      v.setUint16(62, 0xffff, true);
      v.setBigUint64(o + 32, BigInt(shnum), true);
      v.setUint32(o + 40, shstrndx, true);
    });
    const e2 = readElf(ext);
    assert.equal(e2.sections.length, elf.sections.length);
    assert.deepEqual(e2.sections.slice(1).map((s) => [s.name, s.type, s.size]), elf.sections.slice(1).map((s) => [s.name, s.type, s.size]));
    assert.deepEqual(e2.symbols, elf.symbols);
    throwsElf(() => readElf(patched(ext, (v, o) => v.setBigUint64(o + 32, 1_000_000n, true))), "ELF_TRUNCATED");
  });

  test("random corruption is an ElfError or a successful parse, never another exception", () => {
    let seed = 99;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    // Corrupt the header area and the section header table, where the reader does most of its checks.
    const shoff = Number(new DataView(bpf.buffer, bpf.byteOffset).getBigUint64(40, true));
    const regions = [[0, 64], [shoff, bpf.length]] as const;
    let ok = 0;
    for (let round = 0; round < 3000; round++) {
      const b = bpf.slice();
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
        const [lo, hi] = regions[Math.floor(rnd() * 2)];
        b[lo + Math.floor(rnd() * (hi - lo))] = Math.floor(rnd() * 256);
      }
      try {
        const e = readElf(b);
        for (const s of e.sections) e.relocations(s.index);
        ok++;
      } catch (e) {
        if (!(e instanceof ElfError)) throw e;
      }
    }
    assert.ok(ok > 0);
  });
});
