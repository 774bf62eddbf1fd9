// Unit tests of .BTF.ext: func/line info and CO-RE records from a clang object, kernel-layout encoders, bad input.
// The object is compiled at test time from test/helpers/c-sources.ts (CORE_C).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Btf } from "../../src/btf/btf.js";
import { encodeBtfExt, encodeFuncInfo, encodeLineInfo, parseBtfExt } from "../../src/btf/ext.js";
import { BtfBuilder, type BtfTypeSpec } from "../../src/btf/writer.js";
import { CoreReloKind, type BtfExt } from "../../src/btf/types.js";
import { readElf } from "../../src/elf/reader.js";
import { BtfError } from "../../src/errors.js";
import { compileCText } from "../helpers/toolchain.js";
import { CORE_C } from "../helpers/c-sources.js";

function throwsBtf(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${String(e)}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

const obj = compileCText(CORE_C, { name: "btf-core" });
const elf = readElf(obj.bytes);
const btf = Btf.parse(elf.section(".BTF")!.data);
const extBytes = elf.section(".BTF.ext")!.data.slice();

interface ExtSub { recSize: number; secs: { nameOff: number; words: number[][] }[] }
/** Hand-build a .BTF.ext with arbitrary record sizes (words beyond the known ones are padding). */
function buildExt(subs: (ExtSub | undefined)[], hdrLen = 32): Uint8Array {
  const bodies = subs.map((s) => {
    if (!s) return new Uint8Array(0);
    const words: number[] = [s.recSize];
    for (const sec of s.secs) {
      words.push(sec.nameOff, sec.words.length);
      for (const rec of sec.words) {
        const padded = [...rec];
        while (padded.length * 4 < s.recSize) padded.push(0xdeadbeef);
        words.push(...padded);
      }
    }
    return new Uint8Array(new Uint32Array(words).buffer);
  });
  const out = new Uint8Array(hdrLen + bodies.reduce((n, b) => n + b.length, 0));
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true); v.setUint8(2, 1); v.setUint32(4, hdrLen, true);
  let off = 0;
  bodies.forEach((b, i) => {
    if (8 + i * 8 + 8 > hdrLen) return;
    v.setUint32(8 + i * 8, off, true);
    v.setUint32(12 + i * 8, b.length, true);
    out.set(b, hdrLen + off);
    off += b.length;
  });
  return out;
}

describe(".BTF.ext from clang", () => {
  const ext = parseBtfExt(extBytes, btf);
  const sourceLines = CORE_C.split("\n");

  test("func info names each function's BTF func, keyed by section name", () => {
    assert.deepEqual([...ext.funcInfo.keys()].sort(), [".text", "tc"]);
    const tc = ext.funcInfo.get("tc")!;
    assert.equal(tc.length, 1);
    assert.equal(tc[0].insnOff, 0);
    assert.equal(btf.kindOf(tc[0].typeId), "func");
    assert.equal(btf.nameOf(tc[0].typeId), "relo");
    const text = ext.funcInfo.get(".text")!;
    assert.deepEqual(text.map((f) => btf.nameOf(f.typeId)), ["sub"]);
  });

  test("line info carries file, line text, line and column; offsets are bytes inside the section", () => {
    for (const [sec, lines] of ext.lineInfo) {
      const size = elf.section(sec)!.size;
      let prev = -1;
      for (const l of lines) {
        assert.equal(l.insnOff % 8, 0);
        assert.ok(l.insnOff < size && l.insnOff > prev, `${sec}: ${l.insnOff}`);
        prev = l.insnOff;
        assert.equal(l.fileName, btf.string(l.fileNameOff));
        assert.equal(l.line, btf.string(l.lineOff));
        if (l.lineNum === 0) continue;
        assert.match(l.fileName, /btf-core-[0-9a-f]+\.c$/);
        assert.equal(l.line, sourceLines[l.lineNum - 1], `line ${l.lineNum}`);
        assert.ok(l.lineCol <= l.line.length + 1);
      }
    }
    const tc = ext.lineInfo.get("tc")!;
    assert.equal(tc[0].line, "int relo(struct __sk_buff *skb)");
    assert.ok(tc.some((l) => l.line.includes("bpf_core_enum_value(enum e_local, E_TWO)")));
    assert.ok(ext.lineInfo.get(".text")!.some((l) => l.line.includes("BPF_CORE_READ(p, inner.y)")));
  });

  test("CO-RE records: kind, root type and access string of each relocation", () => {
    const got = (sec: string): string[] =>
      ext.coreRelos.get(sec)!.map((r) => `${r.kind} ${btf.toString(r.typeId)} ${r.accessStr}`);
    const tc = new Set(got("tc"));
    const K = CoreReloKind;
    for (const want of [
      `${K.FieldByteOffset} struct pair 0:1`,
      `${K.FieldByteSize} struct pair 0:2`,
      `${K.FieldExists} struct pair 0:3:2`,
      `${K.FieldSigned} struct pair 0:0`,
      `${K.FieldByteOffset} struct pair 0:5`,
      `${K.FieldByteSize} struct pair 0:5`,
      `${K.FieldLShiftU64} struct pair 0:5`,
      `${K.FieldRShiftU64} struct pair 0:5`,
      `${K.TypeIdLocal} struct pair 0`,
      `${K.TypeIdTarget} struct pair 0`,
      `${K.TypeExists} struct gone 0`,
      `${K.TypeSize} struct pair 0`,
      `${K.EnumvalExists} enum e_local 0`,
      `${K.EnumvalValue} enum e_local 1`,
    ]) assert.ok(tc.has(want), `missing ${want} in ${[...tc].join(", ")}`);
    assert.deepEqual(got(".text"), [`${K.FieldByteOffset} struct pair 0:2:1`]);
    for (const r of ext.coreRelos.get("tc")!) assert.equal(r.insnOff % 8, 0);
  });

  test("encodeBtfExt + BtfBuilder round trip gives the same records", () => {
    const b = new BtfBuilder();
    for (const id of btf.ids()) {
      const { id: _, ...spec } = btf.type(id);
      b.add(spec as BtfTypeSpec);
    }
    const ext2Bytes = encodeBtfExt(ext, b);
    const btf2 = Btf.parse(b.encode());
    const ext2 = parseBtfExt(ext2Bytes, btf2);
    const strip = (e: BtfExt): unknown => ({
      funcInfo: [...e.funcInfo],
      coreRelos: [...e.coreRelos],
      lineInfo: [...e.lineInfo].map(([k, v]) => [k, v.map(({ fileNameOff: _f, lineOff: _l, ...rest }) => rest)]),
    });
    assert.deepEqual(strip(ext2), strip(ext));
  });
});

describe("kernel layouts for BPF_PROG_LOAD", () => {
  test("encodeFuncInfo: 8-byte records, insn_off in instructions", () => {
    const out = encodeFuncInfo([{ insnOff: 0, typeId: 5 }, { insnOff: 7, typeId: 9 }]);
    assert.deepEqual([...new Uint32Array(out.buffer)], [0, 5, 7, 9]);
    const fromBytes = encodeFuncInfo([{ insnOff: 56, typeId: 9 }], { insnOffUnit: "bytes" });
    assert.deepEqual([...new Uint32Array(fromBytes.buffer)], [7, 9]);
    throwsBtf(() => encodeFuncInfo([{ insnOff: 12, typeId: 1 }], { insnOffUnit: "bytes" }), "BTF_BAD_EXT");
    assert.equal(encodeFuncInfo([]).length, 0);
  });

  test("encodeLineInfo: 16-byte records with line << 10 | column", () => {
    const rec = { insnOff: 24, fileName: "a.c", line: "x", lineNum: 37, lineCol: 5, fileNameOff: 11, lineOff: 22 };
    const out = encodeLineInfo([rec], { insnOffUnit: "bytes" });
    assert.deepEqual([...new Uint32Array(out.buffer)], [3, 11, 22, (37 << 10) | 5]);
    const ext = parseBtfExt(extBytes, btf);
    const lines = ext.lineInfo.get("tc")!;
    const enc = new Uint32Array(encodeLineInfo(lines, { insnOffUnit: "bytes" }).buffer);
    lines.forEach((l, i) => {
      assert.equal(enc[i * 4], l.insnOff / 8);
      assert.equal(btf.string(enc[i * 4 + 2]), l.line);
    });
  });
});

describe(".BTF.ext on bad input", () => {
  const nameOff = btf.nameOffsetOf(btf.findOne("relo", "func")!);
  const funcId = btf.findOne("relo", "func")!;
  const pairId = btf.findOne("pair", "struct")!;
  const access = btf.nameOffsetOf(pairId); // any valid string offset works as an access string

  test("every truncated prefix is a BtfError", () => {
    for (let len = 0; len < extBytes.length; len++) {
      assert.throws(() => parseBtfExt(extBytes.subarray(0, len), btf), (e: unknown) => e instanceof BtfError, `prefix ${len}`);
    }
  });

  test("record sizes: too small or unaligned rejected, larger accepted with the extra bytes skipped", () => {
    const func = (recSize: number): ExtSub => ({ recSize, secs: [{ nameOff, words: [[0, funcId], [8, funcId]] }] });
    const parsed = parseBtfExt(buildExt([func(16)]), btf);
    assert.deepEqual(parsed.funcInfo.get("relo"), [{ insnOff: 0, typeId: funcId }, { insnOff: 8, typeId: funcId }]);
    throwsBtf(() => parseBtfExt(buildExt([func(4)]), btf), "BTF_BAD_EXT");
    throwsBtf(() => parseBtfExt(buildExt([func(10)]), btf), "BTF_BAD_EXT");
    const line = (recSize: number): ExtSub => ({ recSize, secs: [{ nameOff, words: [[0, nameOff, nameOff, (3 << 10) | 2]] }] });
    assert.equal(parseBtfExt(buildExt([undefined, line(20)]), btf).lineInfo.get("relo")![0].lineNum, 3);
    throwsBtf(() => parseBtfExt(buildExt([undefined, line(12)]), btf), "BTF_BAD_EXT");
    const core = (recSize: number, kind = 0): ExtSub => ({ recSize, secs: [{ nameOff, words: [[0, pairId, access, kind]] }] });
    assert.equal(parseBtfExt(buildExt([undefined, undefined, core(24)]), btf).coreRelos.get("relo")![0].typeId, pairId);
    throwsBtf(() => parseBtfExt(buildExt([undefined, undefined, core(8)]), btf), "BTF_BAD_EXT");
    throwsBtf(() => parseBtfExt(buildExt([undefined, undefined, core(16, 99)]), btf), "BTF_BAD_EXT");
  });

  test("header, counts, strings and type ids", () => {
    const ok: ExtSub = { recSize: 8, secs: [{ nameOff, words: [[0, funcId]] }] };
    const hdr24 = parseBtfExt(buildExt([ok, undefined], 24), btf);
    assert.equal(hdr24.coreRelos.size, 0);
    assert.equal(hdr24.funcInfo.get("relo")!.length, 1);
    const patch = (b: Uint8Array, f: (v: DataView) => void): Uint8Array => {
      const c = b.slice();
      f(new DataView(c.buffer));
      return c;
    };
    const good = buildExt([ok]);
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint16(0, 0xbeef, true)), btf), "BTF_BAD_MAGIC");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint8(2, 7)), btf), "BTF_BAD_VERSION");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(4, 16, true)), btf), "BTF_BAD_HEADER");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(4, 4096, true)), btf), "BTF_TRUNCATED");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(12, 4096, true)), btf), "BTF_TRUNCATED");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(32 + 8, 0x7fffffff, true)), btf), "BTF_TRUNCATED");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(32 + 4, 0xfffffff, true)), btf), "BTF_BAD_STRING");
    throwsBtf(() => parseBtfExt(patch(good, (v) => v.setUint32(32 + 16, 0xffff, true)), btf), "BTF_BAD_TYPE");
    const badLine: ExtSub = { recSize: 16, secs: [{ nameOff, words: [[0, 0xfffffff, nameOff, 0]] }] };
    throwsBtf(() => parseBtfExt(buildExt([undefined, badLine]), btf), "BTF_BAD_STRING");
  });

  test("random corruption is a BtfError or a successful parse", () => {
    let seed = 7;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 2000; round++) {
      const b = extBytes.slice();
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        parseBtfExt(b, btf);
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
      }
    }
  });
});
