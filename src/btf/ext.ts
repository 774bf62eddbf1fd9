// .BTF.ext reader and writer (func_info, line_info, CO-RE relocations) plus the kernel's PROG_LOAD layouts.
// Unit of insnOff: .BTF.ext stores BYTES within the ELF section; the kernel's bpf_func_info/bpf_line_info want INSTRUCTIONS.

import { BtfError } from "../errors.js";
import type { Btf } from "./btf.js";
import type { BtfCoreRelo, BtfExt, BtfFuncInfo, BtfLineInfo, CoreReloKindNumber } from "./types.js";

/** .BTF.ext header magic (same as BTF). */
export const BTF_EXT_MAGIC = 0xeb9f;
/** Minimum header size (func_info + line_info); 32 bytes adds core_relo. */
export const BTF_EXT_HEADER_MIN = 24;
/** Known record sizes: files may use larger records (extra bytes are skipped), never smaller ones. */
export const FUNC_INFO_SIZE = 8, LINE_INFO_SIZE = 16, CORE_RELO_SIZE = 16;
/** Size of one eBPF instruction slot in bytes. */
export const INSN_SIZE = 8;
/** Highest CO-RE relocation kind we know (BPF_CORE_TYPE_MATCHES). */
const MAX_CORE_KIND = 12;

/** Column and line of bpf_line_info.line_col: line in the upper 22 bits, column in the lower 10. */
export function lineColNum(lineCol: number): { line: number; col: number } {
  return { line: lineCol >>> 10, col: lineCol & 0x3ff };
}

interface SubsectionSpec { name: string; minRecSize: number; off: number; len: number }

/**
 * Parse a .BTF.ext section. Records are grouped by ELF section name (resolved through `btf`'s string
 * table). Every `insnOff` in the result is a BYTE offset within that ELF section, as stored in the file.
 * Records larger than the known size are accepted (extra trailing bytes skipped); smaller ones are not.
 *
 * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`,
 *   `BTF_BAD_EXT` (record size, alignment, unknown CO-RE kind), `BTF_BAD_STRING`, `BTF_BAD_TYPE`.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const len = bytes.length;
  if (len < 8) {
    if (len >= 2 && (bytes[0] | (bytes[1] << 8)) !== BTF_EXT_MAGIC) badMagic(bytes);
    throw new BtfError("BTF_TRUNCATED", `parse .BTF.ext: ${len} bytes is shorter than the header`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, len);
  if (v.getUint16(0, true) !== BTF_EXT_MAGIC) badMagic(bytes);
  if (v.getUint8(2) !== 1) throw new BtfError("BTF_BAD_VERSION", `parse .BTF.ext: version at offset 2 is ${v.getUint8(2)}, expected 1`);
  const hdrLen = v.getUint32(4, true);
  if (hdrLen < BTF_EXT_HEADER_MIN) {
    throw new BtfError("BTF_BAD_HEADER", `parse .BTF.ext: hdr_len ${hdrLen} at offset 4 is smaller than ${BTF_EXT_HEADER_MIN}`);
  }
  if (hdrLen > len) throw new BtfError("BTF_TRUNCATED", `parse .BTF.ext: hdr_len ${hdrLen} is past the end of the section (${len} bytes)`);
  const subs: SubsectionSpec[] = [
    { name: "func_info", minRecSize: FUNC_INFO_SIZE, off: v.getUint32(8, true), len: v.getUint32(12, true) },
    { name: "line_info", minRecSize: LINE_INFO_SIZE, off: v.getUint32(16, true), len: v.getUint32(20, true) },
  ];
  if (hdrLen >= 32) subs.push({ name: "core_relo", minRecSize: CORE_RELO_SIZE, off: v.getUint32(24, true), len: v.getUint32(28, true) });

  const funcInfo = new Map<string, BtfFuncInfo[]>();
  const lineInfo = new Map<string, BtfLineInfo[]>();
  const coreRelos = new Map<string, BtfCoreRelo[]>();
  const str = (off: number, what: string): string => {
    try {
      return btf.string(off);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError("BTF_BAD_STRING", `parse .BTF.ext: ${what}: ${e.message}`);
      throw e;
    }
  };
  const typeId = (id: number, what: string): number => {
    if (id >= btf.typeCount) {
      throw new BtfError("BTF_BAD_TYPE", `parse .BTF.ext: ${what} refers to BTF type ${id}, but the highest id is ${btf.typeCount - 1}`);
    }
    return id;
  };

  for (const sub of subs) {
    if (sub.len === 0) continue;
    const start = hdrLen + sub.off;
    const end = start + sub.len;
    if (end > len) {
      throw new BtfError("BTF_TRUNCATED", `parse .BTF.ext: ${sub.name} at offset ${start} (+${sub.len} bytes) is past the end of the section (${len} bytes)`);
    }
    if (sub.len < 4) throw new BtfError("BTF_TRUNCATED", `parse .BTF.ext: ${sub.name} at offset ${start} is too short to hold its record size`);
    const recSize = v.getUint32(start, true);
    if (recSize < sub.minRecSize || recSize % 4 !== 0) {
      throw new BtfError(
        "BTF_BAD_EXT",
        `parse .BTF.ext: ${sub.name} record size ${recSize} at offset ${start} is invalid (must be a multiple of 4 and >= ${sub.minRecSize})`,
      );
    }
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) throw new BtfError("BTF_TRUNCATED", `parse .BTF.ext: ${sub.name} section header at offset ${p} is cut off (subsection ends at ${end})`);
      const secName = str(v.getUint32(p, true), `${sub.name} section name at offset ${p}`);
      const num = v.getUint32(p + 4, true);
      p += 8;
      if (num > (end - p) / recSize) {
        throw new BtfError(
          "BTF_TRUNCATED",
          `parse .BTF.ext: ${sub.name} for section "${secName}" claims ${num} records of ${recSize} bytes at offset ${p}, past the end of the subsection (${end})`,
        );
      }
      for (let i = 0; i < num; i++, p += recSize) {
        const insnOff = v.getUint32(p, true);
        const where = `${sub.name} record ${i} of section "${secName}" at offset ${p}`;
        if (sub.name === "func_info") {
          list(funcInfo, secName).push({ insnOff, typeId: typeId(v.getUint32(p + 4, true), where) });
        } else if (sub.name === "line_info") {
          const fileNameOff = v.getUint32(p + 4, true);
          const lineOff = v.getUint32(p + 8, true);
          const lineCol = v.getUint32(p + 12, true);
          list(lineInfo, secName).push({
            insnOff, fileName: str(fileNameOff, `${where} file name`), line: str(lineOff, `${where} line`),
            lineNum: lineCol >>> 10, lineCol: lineCol & 0x3ff, fileNameOff, lineOff,
          });
        } else {
          const kind = v.getUint32(p + 12, true);
          if (kind > MAX_CORE_KIND) throw new BtfError("BTF_BAD_EXT", `parse .BTF.ext: ${where} has unknown CO-RE relocation kind ${kind}`);
          list(coreRelos, secName).push({
            insnOff, typeId: typeId(v.getUint32(p + 4, true), where),
            accessStr: str(v.getUint32(p + 8, true), `${where} access string`), kind: kind as CoreReloKindNumber,
          });
        }
      }
    }
  }
  return { funcInfo, lineInfo, coreRelos };
}

function list<T>(m: Map<string, T[]>, key: string): T[] {
  let l = m.get(key);
  if (!l) m.set(key, (l = []));
  return l;
}

function badMagic(bytes: Uint8Array): never {
  const m = bytes[0] | (bytes[1] << 8);
  throw new BtfError("BTF_BAD_MAGIC", `parse .BTF.ext: bad magic 0x${m.toString(16).padStart(4, "0")} at offset 0, expected 0xeb9f`);
}

/** Options for the kernel-layout encoders. */
export interface EncodeInfoOptions {
  /**
   * Unit of the records' `insnOff`: "insns" (default; instruction index in the final program, what the
   * kernel wants) or "bytes" (as stored in .BTF.ext; converted by dividing by 8).
   */
  readonly insnOffUnit?: "insns" | "bytes";
}

function toInsns(off: number, unit: "insns" | "bytes", what: string): number {
  if (unit === "insns") return off;
  if (off % INSN_SIZE !== 0) throw new BtfError("BTF_BAD_EXT", `${what}: byte offset ${off} is not a multiple of ${INSN_SIZE}`);
  return off / INSN_SIZE;
}

/**
 * Encode func info records in the kernel's `struct bpf_func_info` layout (8 bytes each: insn_off,
 * type_id) for BPF_PROG_LOAD's func_info (func_info_rec_size = 8). The kernel's insn_off counts
 * INSTRUCTIONS from the start of the loaded program; pass `{ insnOffUnit: "bytes" }` when the records
 * still hold .BTF.ext byte offsets (already rebased to the program start).
 */
export function encodeFuncInfo(records: readonly BtfFuncInfo[], opts: EncodeInfoOptions = {}): Uint8Array {
  const unit = opts.insnOffUnit ?? "insns";
  const out = new Uint8Array(records.length * FUNC_INFO_SIZE);
  const v = new DataView(out.buffer);
  records.forEach((r, i) => {
    v.setUint32(i * 8, toInsns(r.insnOff, unit, `encode func_info record ${i}`), true);
    v.setUint32(i * 8 + 4, r.typeId, true);
  });
  return out;
}

/**
 * Encode line info records in the kernel's `struct bpf_line_info` layout (16 bytes each: insn_off,
 * file_name_off, line_off, line_col) for BPF_PROG_LOAD's line_info (line_info_rec_size = 16).
 * insn_off counts INSTRUCTIONS (see {@link EncodeInfoOptions}); the string offsets are the records'
 * raw `fileNameOff` / `lineOff`, so the BTF loaded alongside must keep the original string section
 * (e.g. a BtfBuilder seeded with `btf.rawStrings`).
 */
export function encodeLineInfo(records: readonly BtfLineInfo[], opts: EncodeInfoOptions = {}): Uint8Array {
  const unit = opts.insnOffUnit ?? "insns";
  const out = new Uint8Array(records.length * LINE_INFO_SIZE);
  const v = new DataView(out.buffer);
  records.forEach((r, i) => {
    const p = i * 16;
    v.setUint32(p, toInsns(r.insnOff, unit, `encode line_info record ${i}`), true);
    v.setUint32(p + 4, r.fileNameOff, true);
    v.setUint32(p + 8, r.lineOff, true);
    v.setUint32(p + 12, ((r.lineNum << 10) | (r.lineCol & 0x3ff)) >>> 0, true);
  });
  return out;
}

/** Something that interns strings into a BTF string section (a BtfBuilder). */
export interface BtfStringSink {
  addString(s: string): number;
}

/**
 * Encode a .BTF.ext section (header with core_relo, func_info, line_info, core_relo subsections) as an
 * ELF object stores it: insnOff in BYTES within each section. Section names, file names, line texts and
 * access strings are interned through `strings` (the BtfBuilder of the matching .BTF); the raw string
 * offsets in line info records are ignored.
 */
export function encodeBtfExt(ext: BtfExt, strings: BtfStringSink): Uint8Array {
  const parts: Uint8Array[] = [];
  const sub = <T>(map: ReadonlyMap<string, readonly T[]>, recSize: number, write: (v: DataView, p: number, r: T) => void): Uint8Array => {
    let size = 4;
    for (const recs of map.values()) if (recs.length > 0) size += 8 + recs.length * recSize;
    if (size === 4) return new Uint8Array(0);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint32(0, recSize, true);
    let p = 4;
    for (const [sec, recs] of map) {
      if (recs.length === 0) continue;
      v.setUint32(p, strings.addString(sec), true);
      v.setUint32(p + 4, recs.length, true);
      p += 8;
      for (const r of recs) {
        write(v, p, r);
        p += recSize;
      }
    }
    return out;
  };
  parts.push(sub(ext.funcInfo, FUNC_INFO_SIZE, (v, p, r) => {
    v.setUint32(p, r.insnOff, true);
    v.setUint32(p + 4, r.typeId, true);
  }));
  parts.push(sub(ext.lineInfo, LINE_INFO_SIZE, (v, p, r) => {
    v.setUint32(p, r.insnOff, true);
    v.setUint32(p + 4, strings.addString(r.fileName), true);
    v.setUint32(p + 8, strings.addString(r.line), true);
    v.setUint32(p + 12, ((r.lineNum << 10) | (r.lineCol & 0x3ff)) >>> 0, true);
  }));
  parts.push(sub(ext.coreRelos, CORE_RELO_SIZE, (v, p, r) => {
    v.setUint32(p, r.insnOff, true);
    v.setUint32(p + 4, r.typeId, true);
    v.setUint32(p + 8, strings.addString(r.accessStr), true);
    v.setUint32(p + 12, r.kind, true);
  }));
  const hdrLen = 32;
  const out = new Uint8Array(hdrLen + parts.reduce((n, x) => n + x.length, 0));
  const v = new DataView(out.buffer);
  v.setUint16(0, BTF_EXT_MAGIC, true);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, true);
  let off = 0;
  parts.forEach((part, i) => {
    v.setUint32(8 + i * 8, off, true);
    v.setUint32(12 + i * 8, part.length, true);
    out.set(part, hdrLen + off);
    off += part.length;
  });
  return out;
}
