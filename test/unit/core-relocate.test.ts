// Unit tests of CO-RE relocation values and instruction patching on synthesized local/target BTF:
// moved/renamed fields, size changes, ambiguity, flavors, anonymous unions, arrays, bitfields, enums, types.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Instruction } from "../../src/asm/instruction.js";
import { alu64Imm, ldImm64, loadMem, mov64Imm, storeImm } from "../../src/asm/instruction.js";
import { AluOp, Size } from "../../src/asm/opcode.js";
import type { Btf } from "../../src/btf/btf.js";
import { CoreReloKind } from "../../src/btf/types.js";
import { CoreError } from "../../src/errors.js";
import {
  applyCoreRelocation, calculateCoreRelocation, CORE_POISON_HELPER_ID, fieldsAreCompat, isCorePoison, relocateProgram,
  typesAreCompat, typesMatch,
} from "../../src/core/index.js";
import { Types, relo } from "../fixtures/core/synth.js";

const K = CoreReloKind;

/** Shorthand: value of one relocation. */
function calc(local: Btf, target: Btf | Btf[], kind: number, typeId: number, access: string) {
  return calculateCoreRelocation(relo(kind as 0, typeId, access), local, target);
}

describe("core: field relocations", () => {
  /** local: struct s { int a; int b; unsigned int u; int arr[4]; } */
  function local() {
    const t = new Types();
    const int = t.int("int", 4, true);
    const uint = t.int("unsigned int", 4);
    const s = t.struct("s", 28, [["a", int, 0], ["b", int, 32], ["u", uint, 64], ["arr", t.array(int, 4), 96]]);
    return { btf: t.btf(), s };
  }
  /** target: struct s { long x; int b; union { int a; }; unsigned long u; int arr[2]; } — fields moved, resized. */
  function target() {
    const t = new Types();
    const int = t.int("int", 4, true);
    const long = t.int("long", 8, true);
    const ulong = t.int("unsigned long", 8);
    const anon = t.union("", 4, [["a", int, 0]]);
    const s = t.struct("s", 40, [["x", long, 0], ["b", int, 64], ["", anon, 96], ["u", ulong, 128], ["arr", t.array(int, 2), 192]]);
    return { btf: t.btf(), s };
  }

  test("moved field: byte offset follows the target layout", () => {
    const l = local();
    const t = target();
    const r = calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:1");
    assert.equal(r.origValue, 4n);
    assert.equal(r.value, 8n);
    assert.equal(r.poison, false);
    assert.deepEqual([r.origSize, r.fieldSize, r.failMemSizeAdjust], [4, 4, false]);
    assert.deepEqual(r.targetSpec?.raw, [0, 1]);
  });

  test("field moved into an anonymous union is found through it", () => {
    const l = local();
    const t = target();
    const r = calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:0");
    assert.equal(r.value, 12n);
    assert.deepEqual(r.targetSpec?.raw, [0, 2, 0]);
    assert.deepEqual(r.targetSpec?.accessors.map((a) => a.name), [undefined, "a"]);
  });

  test("array element: offset uses the target array position; out-of-bounds index poisons", () => {
    const l = local();
    const t = target();
    const ok = calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:3:1");
    assert.equal(ok.origValue, 12n + 4n);
    assert.equal(ok.value, 24n + 4n);
    assert.equal(ok.fieldSize, 4, "element size, not array size");
    const size = calc(l.btf, t.btf, K.FieldByteSize, l.s, "0:3");
    assert.deepEqual([size.origValue, size.value], [16n, 8n]);
    const oob = calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:3:3");
    assert.equal(oob.poison, true);
    const exists = calc(l.btf, t.btf, K.FieldExists, l.s, "0:3:3");
    assert.deepEqual([exists.poison, exists.value], [false, 0n]);
    assert.throws(() => calc(l.btf, t.btf, K.FieldSigned, l.s, "0:3:1"), { code: "CORE_ARRAY_ACCESS" });
  });

  test("unsigned field widened u32 -> u64: load size is adjusted", () => {
    const l = local();
    const t = target();
    const r = calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:2");
    assert.deepEqual([r.origValue, r.value, r.origSize, r.fieldSize, r.failMemSizeAdjust], [8n, 16n, 4, 8, false]);
    const insn = loadMem(Size.W, 0, 1, 8);
    assert.deepEqual(applyCoreRelocation(insn, r), [insn]);
    assert.equal(insn.offset, 16);
    assert.equal(insn.size, Size.DW);
    assert.equal(insn.isMemLoad, true);
  });

  test("signed field resized: loads/stores are poisoned, ALU uses are not", () => {
    const t = new Types();
    const int = t.int("int", 4, true);
    const ls = t.struct("s", 4, [["v", int, 0]]);
    const lb = t.btf();
    const tt = new Types();
    const long = tt.int("long", 8, true);
    tt.struct("s", 16, [["pad", long, 0], ["v", long, 64]]);
    const r = calc(lb, tt.btf(), K.FieldByteOffset, ls, "0:0");
    assert.equal(r.failMemSizeAdjust, true);
    const ld = loadMem(Size.W, 0, 1, 0);
    applyCoreRelocation(ld, r);
    assert.equal(isCorePoison(ld), true);
    const add = alu64Imm(AluOp.ADD, 1, 0);
    applyCoreRelocation(add, r);
    assert.equal(add.constant, 8n);
  });

  test("renamed field is missing: exists 0, offset/size/signed/shift poisoned", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const ls = l.struct("s", 4, [["old_name", int, 0]]);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.struct("s", 4, [["new_name", tint, 0]]);
    const tb = t.btf();
    assert.equal(calc(lb, tb, K.FieldExists, ls, "0:0").value, 0n);
    for (const kind of [K.FieldByteOffset, K.FieldByteSize, K.FieldSigned, K.FieldLShiftU64, K.FieldRShiftU64]) {
      const r = calc(lb, tb, kind, ls, "0:0");
      assert.equal(r.poison, true, `kind ${kind}`);
      assert.equal(r.targetSpec, undefined);
    }
  });

  test("field of an incompatible kind does not match (int vs pointer)", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const ls = l.struct("s", 4, [["f", int, 0]]);
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.struct("s", 8, [["f", t.ptr(tint), 0]]);
    assert.equal(calc(l.btf(), t.btf(), K.FieldExists, ls, "0:0").value, 0n);
  });

  test("nested struct chain through a pointer-free path", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const inner = l.struct("inner", 8, [["x", int, 0], ["y", int, 32]]);
    const outer = l.struct("outer", 8, [["in", inner, 0]]);
    const t = new Types();
    const tint = t.int("int", 4, true);
    const tinner = t.struct("inner", 12, [["z", tint, 0], ["y", tint, 32], ["x", tint, 64]]);
    t.struct("outer", 16, [["pad", tint, 0], ["in", tinner, 32]]);
    const r = calc(l.btf(), t.btf(), K.FieldByteOffset, outer, "0:0:1");
    assert.deepEqual([r.origValue, r.value], [4n, 8n]);
  });
});

describe("core: bitfields", () => {
  /** local: struct b { unsigned int lo:3; int mid:5; unsigned int hi:24; } */
  function local() {
    const t = new Types();
    const uint = t.int("unsigned int", 4);
    const int = t.int("int", 4, true);
    const b = t.struct("b", 4, [["lo", uint, 0, 3], ["mid", int, 3, 5], ["hi", uint, 8, 24]]);
    return { btf: t.btf(), b };
  }
  function target() {
    const t = new Types();
    const uint = t.int("unsigned int", 4);
    const int = t.int("int", 4, true);
    const u8 = t.int("unsigned char", 1);
    // mid moves to bit 38 (byte 4, bits 6..10: straddles a byte), hi becomes a plain u8 field.
    const b = t.struct("b", 12, [["lo", uint, 0, 3], ["pad", uint, 32, 6], ["mid", int, 38, 5], ["hi", u8, 64]]);
    return { btf: t.btf(), b, u8 };
  }
  const all = (l: ReturnType<typeof local>, tb: Btf, access: string) =>
    Object.fromEntries(
      ([["off", K.FieldByteOffset], ["size", K.FieldByteSize], ["signed", K.FieldSigned], ["lshift", K.FieldLShiftU64], ["rshift", K.FieldRShiftU64]] as const)
        .map(([n, kind]) => [n, calc(l.btf, tb, kind, l.b, access)]),
    );

  test("bitfield read parameters are computed from the target layout", () => {
    const l = local();
    const t = target();
    const mid = all(l, t.btf, "0:1");
    // 4-byte container at byte 4 covers bits 32..63: bits 38..42 -> lshift 64-(38+5-32)=53, rshift 59.
    assert.deepEqual(
      [mid.off.value, mid.size.value, mid.signed.value, mid.lshift.value, mid.rshift.value],
      [4n, 4n, 1n, 53n, 59n],
    );
    assert.deepEqual(
      [mid.off.origValue, mid.size.origValue, mid.signed.origValue, mid.lshift.origValue, mid.rshift.origValue],
      [0n, 4n, 1n, 56n, 59n],
    );
    // Bitfield offsets/sizes/lshift are not validated against the insn (the compiler may choose differently).
    assert.equal(mid.off.validate, false);
    assert.equal(mid.signed.validate, true);
    assert.equal(mid.rshift.validate, true);
  });

  test("bitfield that became a plain field", () => {
    const l = local();
    const t = target();
    const hi = all(l, t.btf, "0:2");
    assert.deepEqual([hi.off.value, hi.size.value, hi.signed.value, hi.lshift.value, hi.rshift.value], [8n, 1n, 0n, 56n, 56n]);
  });

  test("a u8 bitfield straddling a byte boundary widens the load to 2 bytes", () => {
    const l = new Types();
    const u8 = l.int("unsigned char", 1);
    const s = l.struct("w", 2, [["f", u8, 6, 4]]);
    const r = calc(l.btf(), l.btf(), K.FieldByteSize, s, "0:0");
    assert.equal(r.value, 2n);
    const sh = calc(l.btf(), l.btf(), K.FieldLShiftU64, s, "0:0");
    assert.equal(sh.value, 64n - 10n);
  });

  test("a bitfield that no 8-byte load can cover is an error", () => {
    const l = new Types();
    const u64 = l.int("unsigned long", 8);
    const s = l.struct("wide", 16, [["f", u64, 60, 10]]);
    assert.throws(() => calc(l.btf(), l.btf(), K.FieldByteOffset, s, "0:0"), { code: "CORE_BITFIELD_TOO_WIDE" });
  });
});

describe("core: candidates, flavors and ambiguity", () => {
  function localTask() {
    const l = new Types();
    const int = l.int("int", 4, true);
    const task = l.struct("task___v2", 4, [["pid", int, 0]]);
    return { btf: l.btf(), task };
  }

  test("local flavor matches the kernel's unflavored type", () => {
    const lt = localTask();
    const t = new Types();
    const int = t.int("int", 4, true);
    const kt = t.struct("task", 8, [["x", int, 0], ["pid", int, 32]]);
    const r = calc(lt.btf, t.btf(), K.FieldByteOffset, lt.task, "0:0");
    assert.equal(r.value, 4n);
    assert.deepEqual(r.matches.map((m) => m.id), [kt]);
  });

  test("several candidates agreeing is fine; disagreeing is an ambiguity error", () => {
    const lt = localTask();
    const same = new Types();
    const int = same.int("int", 4, true);
    same.struct("task", 8, [["x", int, 0], ["pid", int, 32]]);
    same.struct("task___2", 8, [["y", int, 0], ["pid", int, 32]]);
    const r = calc(lt.btf, same.btf(), K.FieldByteOffset, lt.task, "0:0");
    assert.equal(r.value, 4n);
    assert.equal(r.matches.length, 2);

    const diff = new Types();
    const int2 = diff.int("int", 4, true);
    diff.struct("task", 8, [["x", int2, 0], ["pid", int2, 32]]);
    diff.struct("task___2", 4, [["pid", int2, 0]]);
    assert.throws(
      () => calculateCoreRelocation(relo(K.FieldByteOffset, lt.task, "0:0"), lt.btf, diff.btf(), { context: { section: "kprobe/x", index: 2 } }),
      (e: unknown) => {
        assert.ok(e instanceof CoreError);
        assert.equal(e.code, "CORE_AMBIGUOUS");
        assert.match(e.message, /CO-RE relocation #2 \(field_byte_offset\) in "kprobe\/x"/);
        assert.match(e.message, /task___v2/);
        assert.match(e.message, /"0:0"/);
        return true;
      },
    );
  });

  test("a candidate lacking the field does not make it ambiguous", () => {
    const lt = localTask();
    const t = new Types();
    const int = t.int("int", 4, true);
    t.struct("task", 8, [["x", int, 0], ["pid", int, 32]]);
    t.struct("task___old", 4, [["tid", int, 0]]);
    assert.equal(calc(lt.btf, t.btf(), K.FieldByteOffset, lt.task, "0:0").value, 4n);
  });

  test("module BTF supplies candidates absent from vmlinux", () => {
    const lt = localTask();
    const v = new Types();
    v.int("int", 4, true);
    const vmlinux = v.btf();
    const m = new Types(vmlinux);
    const mt = m.struct("task", 12, [["a", 1, 0], ["b", 1, 32], ["pid", 1, 64]]);
    const mod = m.btf();
    const r = calc(lt.btf, [vmlinux, mod], K.FieldByteOffset, lt.task, "0:0");
    assert.equal(r.value, 8n);
    assert.equal(r.matches[0].btf, mod);
    const id = calc(lt.btf, [vmlinux, mod], K.TypeIdTarget, lt.task, "0");
    assert.equal(id.value, BigInt(mt));
  });

  test("relocations against anonymous local types are rejected", () => {
    const l = new Types();
    const anon = l.struct("", 0, []);
    assert.throws(() => calc(l.btf(), l.btf(), K.TypeExists, anon, "0"), { code: "CORE_ANONYMOUS_TYPE" });
  });
});

describe("core: enum value relocations", () => {
  test("value by essential enumerator name; enum vs enum64; missing enumerator", () => {
    const l = new Types();
    const e = l.enum("mode___local", [["MODE_A___local", 0], ["MODE_GONE___local", 1], ["MODE_BIG", 2]]);
    const lb = l.btf();
    const t = new Types();
    t.enum("mode", [["MODE_B", 1], ["MODE_A", 5], ["MODE_BIG", 0x1_0000_0002n]], { is64: true, size: 8 });
    const tb = t.btf();
    assert.deepEqual([calc(lb, tb, K.EnumvalValue, e, "0").value, calc(lb, tb, K.EnumvalExists, e, "0").value], [5n, 1n]);
    assert.equal(calc(lb, tb, K.EnumvalValue, e, "2").value, 0x1_0000_0002n);
    const gone = calc(lb, tb, K.EnumvalValue, e, "1");
    assert.equal(gone.poison, true);
    assert.equal(calc(lb, tb, K.EnumvalExists, e, "1").value, 0n);
  });

  test("negative 32-bit enumerators are sign-extended to 64 bits", () => {
    const l = new Types();
    const e = l.enum("err", [["E_NEG", -2]], { signed: true });
    const lb = l.btf();
    const t = new Types();
    t.enum("err", [["E_NEG", -5]], { signed: true });
    const r = calc(lb, t.btf(), K.EnumvalValue, e, "0");
    assert.equal(r.value, 0xffff_ffff_ffff_fffbn);
    assert.equal(r.origValue, 0xffff_ffff_ffff_fffen);
    const insn = ldImm64(1, -2n);
    applyCoreRelocation(insn, r);
    assert.equal(insn.constant, -5n);
  });

  test("enumerator relocation through a typedef", () => {
    const l = new Types();
    const e = l.enum("color", [["RED", 0]]);
    const td = l.typedef("color_t", e);
    const t = new Types();
    const te = t.enum("color", [["BLUE", 0], ["RED", 3]]);
    t.typedef("color_t", te);
    assert.equal(calc(l.btf(), t.btf(), K.EnumvalValue, td, "0").value, 3n);
  });
});

describe("core: type relocations", () => {
  function pair() {
    const l = new Types();
    const int = l.int("int", 4, true);
    const s = l.struct("thing", 4, [["a", int, 0]]);
    const missing = l.struct("not_there", 4, [["a", int, 0]]);
    const td = l.typedef("thing_t", s);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.int("long", 8, true);
    const ts = t.struct("thing", 24, [["b", tint, 0], ["a", tint, 32]]);
    const ttd = t.typedef("thing_t", ts);
    return { lb, tb: t.btf(), s, missing, td, ts, ttd };
  }

  test("exists / size / target id / local id", () => {
    const p = pair();
    assert.deepEqual([calc(p.lb, p.tb, K.TypeExists, p.s, "0").value, calc(p.lb, p.tb, K.TypeExists, p.missing, "0").value], [1n, 0n]);
    const size = calc(p.lb, p.tb, K.TypeSize, p.td, "0");
    assert.deepEqual([size.origValue, size.value], [4n, 24n]);
    assert.equal(calc(p.lb, p.tb, K.TypeSize, p.missing, "0").value, 0n);
    const tid = calc(p.lb, p.tb, K.TypeIdTarget, p.td, "0");
    assert.deepEqual([tid.value, tid.validate], [BigInt(p.ttd), false]);
    const lid = calc(p.lb, p.tb, K.TypeIdLocal, p.s, "0");
    assert.deepEqual([lid.value, lid.matches.length], [BigInt(p.s), 0]);
    assert.equal(calc(p.lb, p.tb, K.TypeExists, p.missing, "0").poison, false);
  });

  test("type matches: member subset matches, wrong int width does not", () => {
    const p = pair();
    assert.equal(calc(p.lb, p.tb, K.TypeMatches, p.s, "0").value, 1n);
    const l = new Types();
    const long = l.int("int", 8, true);
    const wrong = l.struct("thing", 8, [["a", long, 0]]);
    const lb = l.btf();
    assert.equal(calc(lb, p.tb, K.TypeMatches, wrong, "0").value, 0n);
    assert.equal(calc(lb, p.tb, K.TypeExists, wrong, "0").value, 1n, "compatibility ignores members");
  });
});

describe("core: type relations", () => {
  test("typesMatch: pointers to fwd, enums by names and size, arrays by length, int signedness", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const fwd = l.fwd("peer");
    const e = l.enum("e", [["X", 1]]);
    const s = l.struct("s", 24, [["p", l.ptr(fwd), 0], ["e", e, 64], ["arr", l.array(int, 2), 96]]);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("int", 4, true);
    const peer = t.struct("peer", 4, [["q", tint, 0]]);
    const te = t.enum("e", [["Y", 0], ["X", 9]]);
    const ts = t.struct("s", 32, [["arr", t.array(tint, 2), 0], ["e", te, 64], ["p", t.ptr(peer), 128]]);
    const ts3 = t.struct("s", 32, [["arr", t.array(tint, 3), 0], ["e", te, 64], ["p", t.ptr(peer), 128]]);
    const uint = t.int("int", 4, false);
    const ts4 = t.struct("s", 32, [["arr", t.array(uint, 2), 0], ["e", te, 64], ["p", t.ptr(peer), 128]]);
    const tu = t.union("peer", 4, [["q", tint, 0]]);
    const ts5 = t.struct("s", 32, [["arr", t.array(tint, 2), 0], ["e", te, 64], ["p", t.ptr(tu), 128]]);
    const tb = t.btf();
    assert.equal(typesMatch(lb, s, tb, ts), true);
    assert.equal(typesMatch(lb, s, tb, ts3), false, "array length differs");
    assert.equal(typesMatch(lb, s, tb, ts4), false, "int signedness differs");
    assert.equal(typesMatch(lb, s, tb, ts5), false, "fwd struct vs union behind a pointer");
  });

  test("typesMatch: enum sizes must agree and local enumerators must exist", () => {
    const l = new Types();
    const e = l.enum("e", [["A", 0], ["B", 1]]);
    const lb = l.btf();
    const t = new Types();
    const good = t.enum("e", [["B", 1], ["A", 0], ["C", 3]], { is64: true, size: 4 });
    const small = t.enum("e", [["A", 0], ["B", 1]], { size: 1 });
    const less = t.enum("e", [["A", 0]]);
    const tb = t.btf();
    assert.equal(typesMatch(lb, e, tb, good), true);
    assert.equal(typesMatch(lb, e, tb, small), false);
    assert.equal(typesMatch(lb, e, tb, less), false);
  });

  test("typesAreCompat: function prototypes compare arity and types; struct vs union differ", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const fp = l.ptr(l.funcProto(int, [int, l.ptr(int)]));
    const fn = l.typedef("handler_t", fp);
    const lb = l.btf();
    const t = new Types();
    const long = t.int("long", 8, true);
    const same = t.typedef("handler_t", t.ptr(t.funcProto(long, [long, t.ptr(long)])));
    const arity = t.typedef("handler_t", t.ptr(t.funcProto(long, [long])));
    const kind = t.typedef("handler_t", t.ptr(t.funcProto(long, [long, long])));
    const tb = t.btf();
    assert.equal(typesAreCompat(lb, fn, tb, same), true, "int sizes are ignored");
    assert.equal(typesAreCompat(lb, fn, tb, arity), false);
    assert.equal(typesAreCompat(lb, fn, tb, kind), false, "pointer vs int parameter");
  });

  test("fieldsAreCompat: composites always, enums/fwds by essential name, arrays by element", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const e = l.enum("color___x", [["R", 0]]);
    const anonE = l.enum("", [["R", 0]]);
    const arr = l.array(int, 3);
    const st = l.struct("a", 4, [["x", int, 0]]);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("char", 1);
    const te = t.enum("color", [["R", 0]]);
    const other = t.enum("shade", [["R", 0]]);
    const tarr = t.array(tint, 9);
    const tu = t.union("b", 4, [["x", tint, 0]]);
    const tp = t.ptr(tint);
    const tb = t.btf();
    assert.equal(fieldsAreCompat(lb, e, tb, te), true);
    assert.equal(fieldsAreCompat(lb, e, tb, other), false);
    assert.equal(fieldsAreCompat(lb, anonE, tb, other), true);
    assert.equal(fieldsAreCompat(lb, arr, tb, tarr), true);
    assert.equal(fieldsAreCompat(lb, st, tb, tu), true);
    assert.equal(fieldsAreCompat(lb, int, tb, tp), false);
  });
});

describe("core: patching instructions", () => {
  function simple() {
    const l = new Types();
    const int = l.int("int", 4, true);
    const s = l.struct("s", 8, [["a", int, 0], ["b", int, 32]]);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.struct("s", 12, [["z", tint, 0], ["a", tint, 32], ["b", tint, 64]]);
    return { lb, tb: t.btf(), s };
  }

  test("ALU immediate, load offset, store offset and ld_imm64 constant are patched", () => {
    const p = simple();
    const r = calc(p.lb, p.tb, K.FieldByteOffset, p.s, "0:1");
    const add = alu64Imm(AluOp.ADD, 1, 4);
    applyCoreRelocation(add, r);
    assert.equal(add.imm, 8);
    const ld = loadMem(Size.W, 2, 1, 4);
    applyCoreRelocation(ld, r);
    assert.equal(ld.offset, 8);
    const st = storeImm(Size.W, 1, 4, 77);
    applyCoreRelocation(st, r);
    assert.deepEqual([st.offset, st.imm], [8, 77]);
    const big = ldImm64(3, 4n);
    applyCoreRelocation(big, r);
    assert.equal(big.constant, 8n);
  });

  test("an instruction whose value is not the local value is rejected", () => {
    const p = simple();
    const r = calc(p.lb, p.tb, K.FieldByteOffset, p.s, "0:1");
    assert.throws(() => applyCoreRelocation(mov64Imm(1, 5), r, p.lb), (e: unknown) => {
      assert.ok(e instanceof CoreError);
      assert.equal(e.code, "CORE_BAD_INSN");
      assert.match(e.message, /immediate is 5, expected 4/);
      assert.match(e.message, /struct s/);
      return true;
    });
    assert.throws(() => applyCoreRelocation(new Instruction(0x0f, 1, 2), r), { code: "CORE_BAD_INSN" }, "ALU with register source");
    assert.throws(() => applyCoreRelocation(new Instruction(0x95), r), { code: "CORE_BAD_INSN" }, "exit");
  });

  test("offsets beyond 16 bits are rejected", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const s = l.struct("s", 4, [["a", int, 0]]);
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.struct("s", 40000, [["pad", t.array(tint, 9000), 0], ["a", tint, 36000 * 8]]);
    const r = calc(l.btf(), t.btf(), K.FieldByteOffset, s, "0:0");
    assert.equal(r.value, 36000n);
    assert.throws(() => applyCoreRelocation(loadMem(Size.W, 0, 1, 0), r), { code: "CORE_OFFSET_TOO_BIG" });
  });

  test("poisoned ld_imm64 becomes two poison calls", () => {
    const l = new Types();
    const e = l.enum("e", [["GONE", 1]]);
    const t = new Types();
    t.enum("e", [["OTHER", 1]]);
    const r = calc(l.btf(), t.btf(), K.EnumvalValue, e, "0");
    const insn = ldImm64(2, 1n);
    const out = applyCoreRelocation(insn, r);
    assert.equal(out.length, 2);
    assert.ok(out.every(isCorePoison));
    assert.equal(out[0], insn);
    assert.equal(insn.constant, BigInt(CORE_POISON_HELPER_ID));
    assert.equal(insn.toString().includes("195896080") || insn.toString().includes("0xbad2310"), true, insn.toString());
  });

  test("relocateProgram maps byte offsets past ld_imm64 and keeps slot offsets when poisoning", () => {
    const l = new Types();
    const int = l.int("int", 4, true);
    const s = l.struct("s", 8, [["a", int, 0], ["gone", int, 32]]);
    const e = l.enum("e", [["GONE", 1]]);
    const lb = l.btf();
    const t = new Types();
    const tint = t.int("int", 4, true);
    t.struct("s", 8, [["x", tint, 0], ["a", tint, 32]]);
    t.enum("e", [["OTHER", 1]]);
    const tb = t.btf();
    const insns = [
      ldImm64(1, 1n), // 0..16: enum value (poisoned -> two calls)
      loadMem(Size.W, 2, 1, 0), // 16: s.a
      mov64Imm(3, 1), // 24: exists(s.gone) -> 0
      loadMem(Size.W, 4, 1, 4), // 32: s.gone -> poison
      new Instruction(0x95),
    ];
    const relos = [
      relo(K.EnumvalValue, e, "0", 0),
      relo(K.FieldByteOffset, s, "0:0", 16),
      relo(K.FieldExists, s, "0:1", 24),
      relo(K.FieldByteOffset, s, "0:1", 32),
    ];
    const out = relocateProgram(insns, relos, lb, tb, "tp/test");
    assert.equal(out.insns.length, 6);
    assert.deepEqual(out.indices, [0, 2, 3, 4]);
    assert.ok(isCorePoison(out.insns[0]) && isCorePoison(out.insns[1]));
    assert.equal(out.insns[2].offset, 4);
    assert.equal(out.insns[3].constant, 0n);
    assert.ok(isCorePoison(out.insns[4]));
    assert.equal(out.insns[5].isExit, true);
    assert.deepEqual(out.results.map((r) => r.poison), [true, false, false, true]);

    assert.throws(
      () => relocateProgram([ldImm64(1, 1n)], [relo(K.EnumvalValue, e, "0", 8)], lb, tb, "tp/test"),
      (err: unknown) => err instanceof CoreError && err.code === "CORE_BAD_INSN_OFFSET" && /"tp\/test"/.test(err.message),
    );
    const shifted = relocateProgram([loadMem(Size.W, 2, 1, 0)], [relo(K.FieldByteOffset, s, "0:0", 800)], lb, tb, "tp/test", { startOffset: 800 });
    assert.equal(shifted.insns[0].offset, 4);
  });
});

describe("core: malformed input fails with CoreError, never hangs", () => {
  test("types nested deeper than 32 levels: type match reports CORE_TOO_DEEP", () => {
    const build = () => {
      const t = new Types();
      let inner = t.int("int", 4, true);
      for (let i = 0; i < 40; i++) inner = t.struct(`n${i}`, 4, [["x", inner, 0]]);
      return { btf: t.btf(), top: inner };
    };
    const l = build();
    const t = build();
    assert.throws(() => calc(l.btf, t.btf, K.TypeMatches, l.top, "0"), { code: "CORE_TOO_DEEP" });
    assert.equal(calc(l.btf, t.btf, K.TypeExists, l.top, "0").value, 1n, "compatibility does not recurse into members");
  });

  test("a typedef loop is reported, not followed forever", () => {
    const build = () => {
      const t = new Types();
      const a = t.next;
      t.typedef("loop_a", a + 1);
      t.typedef("loop_b", a);
      const s = t.struct("holder", 4, [["f", a, 0]]);
      return { btf: t.btf(), a, s };
    };
    const l = build();
    const t = build();
    assert.throws(() => calc(l.btf, t.btf, K.TypeExists, l.a, "0"), (e: unknown) => e instanceof CoreError);
    assert.throws(() => calc(l.btf, t.btf, K.FieldByteOffset, l.s, "0:0"), (e: unknown) => e instanceof CoreError);
  });

  test("random access strings and kinds only ever raise CoreError", () => {
    const t = new Types();
    const int = t.int("int", 4, true);
    const inner = t.struct("inner", 8, [["x", int, 0], ["", t.union("", 4, [["y", int, 0]]), 32]]);
    const arr = t.array(inner, 3);
    const s = t.struct("s", 32, [["a", int, 0], ["arr", arr, 32], ["p", t.ptr(inner), 192]]);
    const e = t.enum("e", [["A", 1], ["B", 2]]);
    const b = t.btf();
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: 1 + rnd(5) }, () => String(rnd(6)));
      const access = rnd(10) === 0 ? parts.join(":") + ":" : parts.join(":");
      const kind = rnd(14);
      const typeId = [s, inner, e, arr, int, 999][rnd(6)];
      try {
        const r = calc(b, b, kind, typeId, access);
        if (r.poison) continue;
        const insn = r.kind === K.TypeIdLocal || r.kind === K.TypeIdTarget || r.kind === K.EnumvalValue ? ldImm64(1, r.origValue) : mov64Imm(1, Number(BigInt.asIntN(32, r.origValue)));
        applyCoreRelocation(insn, r);
      } catch (err) {
        assert.ok(err instanceof CoreError, `${kind} ${typeId} "${access}": ${(err as Error).stack}`);
      }
    }
  });
});
