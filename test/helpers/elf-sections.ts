// A minimal ELF64 little-endian section reader for the tests, independent of src/elf so that the asm
// tests (which check our decoder and disassembler against LLVM's output) stand alone.

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

/** The sections of an ELF64 little-endian object. */
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
