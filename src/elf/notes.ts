// USDT (SystemTap SDT) probes of an executable or library: the .note.stapsdt notes (address, semaphore,
// argument specs) and the argument spec parser for x86-64 and arm64 (`-4@-20(%rbp)`, `8@[x0, 16]`).

import { ElfError } from "../errors.js";
import { elfAddressToOffset, elfSection, type ElfImage } from "./symbols.js";

/** One USDT probe site from .note.stapsdt. */
export interface UsdtNote {
  readonly provider: string;
  readonly name: string;
  /** Virtual address of the probe's nop (adjusted by .stapsdt.base for prelinked files). */
  readonly address: bigint;
  /** File offset of the probe (what the uprobe takes). */
  readonly fileOffset: bigint;
  /** Virtual address of the semaphore (0 when the probe has none). */
  readonly semaphore: bigint;
  /** File offset of the semaphore (the uprobe's ref_ctr_offset), 0 without one. */
  readonly semaphoreOffset: bigint;
  /** Raw argument specs, e.g. `-4@-20(%rbp) 8@%rax`. */
  readonly argsText: string;
  readonly args: readonly UsdtArg[];
}

/** Where a USDT argument lives. */
export type UsdtArgKind = "const" | "reg" | "deref" | "sib";

/** One parsed USDT argument. */
export interface UsdtArg {
  /** Size in bytes (1, 2, 4 or 8). */
  readonly size: number;
  readonly signed: boolean;
  readonly kind: UsdtArgKind;
  /** The constant ("const"), or the offset added to the register ("deref", "sib"). */
  readonly value: bigint;
  /** Base register (canonical 64-bit name: `rbp`, `x0`), except for constants. */
  readonly reg?: string;
  /** Index register and scale of a scaled-index ("sib") operand. */
  readonly indexReg?: string;
  readonly scale?: number;
  readonly text: string;
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const NT_STAPSDT = 3;

const X86_REGS: Record<string, string> = {};
for (const [r64, r32, r16, r8] of [
  ["rax", "eax", "ax", "al"], ["rbx", "ebx", "bx", "bl"], ["rcx", "ecx", "cx", "cl"], ["rdx", "edx", "dx", "dl"],
  ["rsi", "esi", "si", "sil"], ["rdi", "edi", "di", "dil"], ["rbp", "ebp", "bp", "bpl"], ["rsp", "esp", "sp", "spl"],
]) for (const n of [r64, r32, r16, r8]) X86_REGS[n] = r64;
for (let i = 8; i <= 15; i++) for (const s of ["", "d", "w", "b"]) X86_REGS[`r${i}${s}`] = `r${i}`;
X86_REGS.rip = "rip";
X86_REGS.eip = "rip";

function canonicalReg(machine: number, name: string, spec: string): string {
  if (machine === EM_X86_64) {
    const r = X86_REGS[name];
    if (r) return r;
  } else if (machine === EM_AARCH64) {
    if (name === "sp") return "sp";
    const m = /^[xw](\d+)$/.exec(name);
    if (m && Number(m[1]) <= 30) return `x${m[1]}`;
  }
  throw new ElfError("USDT_BAD_ARG", `USDT argument "${spec}": unknown register "${name}"`);
}

const num = (s: string) => (s.startsWith("-") ? -BigInt(s.slice(1)) : BigInt(s));

/**
 * Parse a USDT argument list (space-separated `[-]size@location`) for an ELF machine (x86-64, arm64).
 *
 * @example
 * parseUsdtArgs("-4@-20(%rbp) 8@%rax 4@$5", 62)
 * // → [{ size: 4, signed: true, kind: "deref", reg: "rbp", value: -20n, ... }, ...]
 */
export function parseUsdtArgs(text: string, machine: number): UsdtArg[] {
  const out: UsdtArg[] = [];
  for (const spec of text.trim().split(/\s+(?![^[]*\])/).filter(Boolean)) {
    const m = /^(-?)(1|2|4|8)@(.+)$/.exec(spec);
    if (!m) throw new ElfError("USDT_BAD_ARG", `USDT argument "${spec}": expected [-]size@location`);
    const base = { size: Number(m[2]), signed: m[1] === "-", text: spec };
    const loc = m[3];
    let r: RegExpExecArray | null;
    if (machine === EM_X86_64) {
      if ((r = /^\$(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(loc))) out.push({ ...base, kind: "const", value: num(r[1]) });
      else if ((r = /^%(\w+)$/.exec(loc))) out.push({ ...base, kind: "reg", value: 0n, reg: canonicalReg(machine, r[1], spec) });
      else if ((r = /^(-?(?:0x[0-9a-fA-F]+|\d+))?\(%(\w+)\)$/.exec(loc))) {
        out.push({ ...base, kind: "deref", value: r[1] ? num(r[1]) : 0n, reg: canonicalReg(machine, r[2], spec) });
      } else if ((r = /^(-?(?:0x[0-9a-fA-F]+|\d+))?\(%(\w+),%(\w+)(?:,(1|2|4|8))?\)$/.exec(loc))) {
        out.push({
          ...base, kind: "sib", value: r[1] ? num(r[1]) : 0n, reg: canonicalReg(machine, r[2], spec),
          indexReg: canonicalReg(machine, r[3], spec), scale: r[4] ? Number(r[4]) : 1,
        });
      } else throw new ElfError("USDT_BAD_ARG", `USDT argument "${spec}": unsupported x86-64 location "${loc}"`);
    } else if (machine === EM_AARCH64) {
      if ((r = /^(-?\d+)$/.exec(loc))) out.push({ ...base, kind: "const", value: num(r[1]) });
      else if ((r = /^(\w+)$/.exec(loc))) out.push({ ...base, kind: "reg", value: 0n, reg: canonicalReg(machine, r[1], spec) });
      else if ((r = /^\[(\w+)(?:,\s*(-?\d+))?\]$/.exec(loc))) {
        out.push({ ...base, kind: "deref", value: r[2] ? num(r[2]) : 0n, reg: canonicalReg(machine, r[1], spec) });
      } else throw new ElfError("USDT_BAD_ARG", `USDT argument "${spec}": unsupported arm64 location "${loc}"`);
    } else {
      throw new ElfError("USDT_UNSUPPORTED_ARCH", `USDT argument "${spec}": ELF machine ${machine} is not supported (x86-64 and arm64 are)`);
    }
  }
  return out;
}

/**
 * Every USDT probe of an executable or library (empty when it has no .note.stapsdt section).
 *
 * @example
 * for (const n of readUsdtNotes(readElfImage(bytes))) console.log(n.provider, n.name, n.argsText);
 */
export function readUsdtNotes(img: ElfImage): UsdtNote[] {
  const sec = elfSection(img, ".note.stapsdt");
  if (!sec) return [];
  const baseSec = elfSection(img, ".stapsdt.base");
  const bytes = img.bytes;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = Number(sec.offset + sec.size);
  if (end > bytes.length) throw new ElfError("ELF_MALFORMED", `read USDT notes of ${img.path}: .note.stapsdt lies outside the file`);
  const align4 = (n: number) => (n + 3) & ~3;
  const out: UsdtNote[] = [];
  let o = Number(sec.offset);
  while (o + 12 <= end) {
    const namesz = v.getUint32(o, true);
    const descsz = v.getUint32(o + 4, true);
    const type = v.getUint32(o + 8, true);
    const descStart = o + 12 + align4(namesz);
    const next = descStart + align4(descsz);
    if (next > end) throw new ElfError("ELF_MALFORMED", `read USDT notes of ${img.path}: a note runs past the section`);
    const name = new TextDecoder().decode(bytes.subarray(o + 12, o + 12 + Math.max(0, namesz - 1)));
    if (type === NT_STAPSDT && name === "stapsdt" && descsz >= 24) {
      let pc = v.getBigUint64(descStart, true);
      const noteBase = v.getBigUint64(descStart + 8, true);
      const semaphore = v.getBigUint64(descStart + 16, true);
      if (baseSec && noteBase) pc += baseSec.addr - noteBase;
      const strs = new TextDecoder().decode(bytes.subarray(descStart + 24, descStart + descsz)).split("\0");
      const [provider = "", probe = "", argsText = ""] = strs;
      const fileOffset = elfAddressToOffset(img, pc, true) ?? elfAddressToOffset(img, pc);
      if (fileOffset === undefined) throw new ElfError("ELF_MALFORMED", `USDT ${provider}:${probe} in ${img.path}: address 0x${pc.toString(16)} is in no loaded segment`);
      const semaphoreOffset = semaphore ? elfAddressToOffset(img, semaphore) : 0n;
      if (semaphoreOffset === undefined) throw new ElfError("ELF_MALFORMED", `USDT ${provider}:${probe} in ${img.path}: semaphore 0x${semaphore.toString(16)} is in no loaded segment`);
      out.push({ provider, name: probe, address: pc, fileOffset, semaphore, semaphoreOffset, argsText, args: parseUsdtArgs(argsText, img.machine) });
    }
    o = next;
  }
  return out;
}
