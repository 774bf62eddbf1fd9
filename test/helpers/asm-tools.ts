// Test support for the asm suite: find LLVM tools that know BPF v4, assemble or compile with them
// (outputs cached under .cache/asm/), and read executable sections from ELF objects independently.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const cacheDir = join(root, ".cache", "asm");

/** A located LLVM tool and the newest BPF cpu version it supports (3 or 4). */
export interface Tool {
  path: string;
  version: string;
  cpu: 3 | 4;
}

function run(cmd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, maxBuffer: 64 << 20 });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

function majorOf(versionText: string): number {
  const m = /version (\d+)\./.exec(versionText);
  return m ? Number(m[1]) : 0;
}

const toolCache = new Map<string, Tool | undefined>();

/** The newest of `name-N` (N = 21..14) or plain `name` on PATH; cpu 4 needs LLVM >= 17. */
export function findTool(name: "llvm-mc" | "clang" | "llvm-objcopy" | "llvm-objdump"): Tool | undefined {
  if (toolCache.has(name)) return toolCache.get(name);
  let best: Tool | undefined;
  for (const candidate of [...Array.from({ length: 8 }, (_, i) => `${name}-${21 - i}`), name]) {
    const r = run(candidate, ["--version"]);
    if (r.status !== 0) continue;
    const version = (r.stdout + r.stderr).split("\n").find((l) => /version \d+\./.test(l))?.trim() ?? "";
    const major = majorOf(version);
    const tool: Tool = { path: candidate, version, cpu: major >= 17 ? 4 : 3 };
    if (!best || majorOf(best.version) < major) best = tool;
  }
  toolCache.set(name, best);
  return best;
}

function cached(key: string, ext: string, produce: (out: string) => void): Uint8Array {
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, createHash("sha256").update(key).digest("hex").slice(0, 32) + ext);
  if (!existsSync(file)) produce(file);
  return new Uint8Array(readFileSync(file));
}

/** Assembles BPF assembly text with llvm-mc and returns the `.text` bytes (cached). */
export function assemble(text: string, cpu: 3 | 4): Uint8Array {
  const mc = findTool("llvm-mc");
  const objcopy = findTool("llvm-objcopy");
  if (!mc || !objcopy) throw new Error("assemble: llvm-mc / llvm-objcopy not found");
  return cached(`mc\0${mc.version}\0${cpu}\0${text}`, ".bin", (out) => {
    const obj = out + ".o";
    const r = run(mc.path, ["-triple", "bpfel", `-mcpu=v${cpu}`, "-filetype=obj", "-o", obj], text);
    if (r.status !== 0) throw new Error(`llvm-mc failed: ${r.stderr}`);
    const c = run(objcopy.path, ["-O", "binary", "--only-section=.text", obj, out]);
    if (c.status !== 0) throw new Error(`llvm-objcopy failed: ${c.stderr}`);
  });
}

/** Assembles BPF assembly text with llvm-mc into a relocatable ELF object (cached); returns its bytes. */
export function assembleObject(text: string, cpu: 3 | 4): Uint8Array {
  const mc = findTool("llvm-mc");
  if (!mc) throw new Error("assembleObject: llvm-mc not found");
  return cached(`mcobj\0${mc.version}\0${cpu}\0${text}`, ".o", (out) => {
    const r = run(mc.path, ["-triple", "bpfel", `-mcpu=v${cpu}`, "-filetype=obj", "-o", out], text);
    if (r.status !== 0) throw new Error(`llvm-mc failed: ${r.stderr}`);
  });
}

/** Compiles a C file to a BPF object with `clang -O2 -g -target bpf -mcpu=vN` (cached); returns the ELF bytes. */
export function compileC(sourcePath: string, cpu: 1 | 2 | 3 | 4): Uint8Array {
  const clang = findTool("clang");
  if (!clang) throw new Error("compileC: clang not found");
  const source = readFileSync(sourcePath, "utf8");
  const arch = run("uname", ["-m"]).stdout.trim() || "x86_64";
  return cached(`cc\0${clang.version}\0${cpu}\0${sourcePath}\0${source}`, ".o", (out) => {
    const r = run(clang.path, ["-O2", "-g", "-target", "bpf", `-mcpu=v${cpu}`, `-I/usr/include/${arch}-linux-gnu`, "-c", sourcePath, "-o", out]);
    if (r.status !== 0) throw new Error(`clang failed on ${sourcePath}: ${r.stderr}`);
  });
}

/** A section of an ELF64 little-endian object. */
export interface RawSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  /** sh_info: for SHT_REL, the index of the section the relocations apply to. */
  info: number;
  data: Uint8Array;
}

/** Minimal ELF64-LE section reader (independent of src/elf, so the asm tests stand alone). */
export function elfSections(elf: Uint8Array): RawSection[] {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error("not an ELF64 little-endian file");
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const headers = Array.from({ length: shnum }, (_, i) => {
    const p = shoff + i * shentsize;
    return {
      nameOff: v.getUint32(p, true),
      type: v.getUint32(p + 4, true),
      flags: v.getBigUint64(p + 8, true),
      offset: Number(v.getBigUint64(p + 0x18, true)),
      size: Number(v.getBigUint64(p + 0x20, true)),
      info: v.getUint32(p + 0x2c, true),
    };
  });
  const strtab = headers[shstrndx];
  const nameAt = (off: number): string => {
    let end = strtab.offset + off;
    while (elf[end] !== 0) end++;
    return new TextDecoder().decode(elf.subarray(strtab.offset + off, end));
  };
  return headers.map((h, index) => ({
    index,
    name: nameAt(h.nameOff),
    type: h.type,
    flags: h.flags,
    info: h.info,
    data: h.type === 8 /* SHT_NOBITS */ ? new Uint8Array(0) : elf.subarray(h.offset, h.offset + h.size),
  }));
}

/** The executable (SHF_EXECINSTR) sections with contents. */
export function codeSections(elf: Uint8Array): RawSection[] {
  return elfSections(elf).filter((s) => (s.flags & 0x4n) !== 0n && s.data.byteLength > 0);
}

/** Byte offsets (r_offset) of the SHT_REL relocations that apply to section `target`. */
export function relocationOffsets(elf: Uint8Array, target: RawSection): number[] {
  const out: number[] = [];
  for (const s of elfSections(elf)) {
    if (s.type !== 9 /* SHT_REL */ || s.info !== target.index) continue;
    const v = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    for (let p = 0; p + 16 <= s.data.byteLength; p += 16) out.push(Number(v.getBigUint64(p, true)));
  }
  return out;
}

/** Writes `text` to a file under .cache/asm/ and returns its path (for tools that need a file). */
export function cacheFile(name: string, text: string): string {
  mkdirSync(cacheDir, { recursive: true });
  const p = join(cacheDir, name);
  if (!existsSync(p) || readFileSync(p, "utf8") !== text) writeFileSync(p, text);
  return p;
}
