// Address → function name for the profile example: kernel addresses through /proc/kallsyms, user
// addresses through /proc/<pid>/maps and the mapped file's ELF symbols (tsbpf's ELF reader).

import { readFileSync } from "node:fs";
import { elfSymbols, readElfImage, type ElfImage } from "../../src/index.js";

const PT_LOAD = 1;
const STT_FUNC = 2;

interface Sym { readonly start: bigint; readonly end: bigint; readonly name: string }

/** The symbol containing `addr` in a list sorted by start, or undefined. */
function find(syms: readonly Sym[], addr: bigint): Sym | undefined {
  let lo = 0, hi = syms.length - 1, hit: Sym | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid]!.start <= addr) {
      hit = syms[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return hit && addr < hit.end ? hit : undefined;
}

/** Kernel symbols from /proc/kallsyms (readable addresses need root). */
export class KernelSymbols {
  readonly #syms: Sym[];

  constructor(text = readFileSync("/proc/kallsyms", "utf8")) {
    const raw: { start: bigint; name: string }[] = [];
    for (const line of text.split("\n")) {
      const [addr, type, name] = line.split(/\s+/);
      if (!addr || !name || !type || !/^[tTwW]$/.test(type)) continue;
      const start = BigInt(`0x${addr}`);
      if (start !== 0n) raw.push({ start, name });
    }
    raw.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    // kallsyms has no sizes: a function ends where the next one starts.
    this.#syms = raw.map((s, i) => ({ start: s.start, end: raw[i + 1]?.start ?? s.start + 0x1000n, name: s.name }));
  }

  /** `name+0xoff`, or the address in hex. */
  name(addr: bigint): string {
    const s = find(this.#syms, addr);
    return s ? `${s.name}+0x${(addr - s.start).toString(16)}` : `0x${addr.toString(16)}`;
  }
}

interface Mapping { readonly start: bigint; readonly end: bigint; readonly offset: bigint; readonly path: string }
interface ImageSyms { readonly img: ElfImage; readonly syms: Sym[] }

/** One process's user-space symbols; read /proc/<pid>/maps while the process is alive. */
export class ProcessSymbols {
  readonly #maps: Mapping[] = [];
  static readonly #images = new Map<string, ImageSyms | null>();

  constructor(readonly pid: number) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/maps`, "utf8");
    } catch {
      return; // the process is gone: addresses stay unresolved
    }
    for (const line of text.split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) ..x. ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(line);
      if (m) this.#maps.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[3]}`), path: m[4]! });
    }
  }

  static #image(path: string): ImageSyms | null {
    let got = this.#images.get(path);
    if (got !== undefined) return got;
    try {
      const img = readElfImage(new Uint8Array(readFileSync(path)), path);
      const syms = elfSymbols(img)
        .filter((s) => s.type === STT_FUNC && s.shndx !== 0 && s.value !== 0n)
        .map((s) => ({ start: s.value, end: s.value + (s.size > 0n ? s.size : 1n), name: s.name }))
        .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      got = { img, syms };
    } catch {
      got = null;
    }
    this.#images.set(path, got);
    return got;
  }

  /** `name+0xoff (file)`, `[file]` when the file has no symbol there, or the address in hex. */
  name(addr: bigint): string {
    const map = this.#maps.find((m) => addr >= m.start && addr < m.end);
    if (!map) return `0x${addr.toString(16)}`;
    const base = map.path.split("/").pop()!;
    const image = ProcessSymbols.#image(map.path);
    if (!image) return `[${base}]`;
    // Address → file offset (through the mapping) → the ELF's virtual address (through its PT_LOAD segment).
    const fileOffset = addr - map.start + map.offset;
    const seg = image.img.segments.find((s) => s.type === PT_LOAD && fileOffset >= s.offset && fileOffset < s.offset + s.filesz);
    if (!seg) return `[${base}]`;
    const vaddr = fileOffset - seg.offset + seg.vaddr;
    const s = find(image.syms, vaddr);
    return s ? `${s.name}+0x${(vaddr - s.start).toString(16)} (${base})` : `[${base}]`;
  }
}
