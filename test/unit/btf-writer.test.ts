// Unit tests of the BTF writer: round trips of clang and kernel BTF, every kind (incl. enum64), strings, errors.
// bpftool reads what we write as a cross-check.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Btf } from "../../src/btf/btf.js";
import { BtfBuilder, encodeBtf, type BtfTypeSpec } from "../../src/btf/writer.js";
import type { BtfType } from "../../src/btf/types.js";
import { readElf } from "../../src/elf/reader.js";
import { BtfError } from "../../src/errors.js";
import { compileCText, hasTool } from "../helpers/toolchain.js";
import { bpftoolTypes, normalize } from "../helpers/bpftool-btf.js";
import { CORE_C, TYPES_C } from "../helpers/c-sources.js";

function throwsBtf(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${String(e)}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

function rebuild(btf: Btf, b = new BtfBuilder()): BtfBuilder {
  for (let id = btf.firstId; id < btf.typeCount; id++) {
    const { id: _, ...spec } = btf.type(id);
    assert.equal(b.add(spec as BtfTypeSpec), id);
  }
  return b;
}

function types(btf: Btf): BtfType[] {
  return [...btf.ids()].map((id) => btf.type(id));
}

/** One of every kind, with the awkward values: enum64 extremes, negative enums, bitfields, variadic protos. */
function everyKind(): BtfType[] {
  return [
    { id: 1, name: "int", kind: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 },
    { id: 2, name: "char", kind: "int", size: 1, signed: false, char: true, bool: false, bitOffset: 0, bits: 8 },
    { id: 3, name: "_Bool", kind: "int", size: 1, signed: false, char: false, bool: true, bitOffset: 0, bits: 1 },
    { id: 4, name: "", kind: "ptr", type: 5 },
    { id: 5, name: "s", kind: "struct", size: 16, members: [
      { name: "a", type: 1, bitOffset: 0, bitfieldSize: 3 },
      { name: "b", type: 1, bitOffset: 3, bitfieldSize: 29 },
      { name: "next", type: 4, bitOffset: 64, bitfieldSize: 0 },
    ] },
    { id: 6, name: "u", kind: "union", size: 4, members: [{ name: "x", type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: "", type: 2, bitOffset: 0, bitfieldSize: 0 }] },
    { id: 7, name: "e32", kind: "enum", size: 4, signed: true, is64: false, values: [{ name: "NEG", value: -5n }, { name: "POS", value: 2147483647n }] },
    { id: 8, name: "e32u", kind: "enum", size: 4, signed: false, is64: false, values: [{ name: "BIG", value: 0xffffffffn }] },
    { id: 9, name: "e64", kind: "enum", size: 8, signed: false, is64: true, values: [{ name: "MAXU", value: 0xffff_ffff_ffff_ffffn }, { name: "MID", value: 0x1_0000_0000n }] },
    { id: 10, name: "e64s", kind: "enum", size: 8, signed: true, is64: true, values: [{ name: "MIN", value: -(2n ** 63n) }, { name: "M1", value: -1n }] },
    { id: 11, name: "fu", kind: "fwd", fwdKind: "union" },
    { id: 12, name: "fs", kind: "fwd", fwdKind: "struct" },
    { id: 13, name: "int_t", kind: "typedef", type: 1 },
    { id: 14, name: "", kind: "volatile", type: 13 },
    { id: 15, name: "", kind: "const", type: 14 },
    { id: 16, name: "", kind: "restrict", type: 4 },
    { id: 17, name: "user", kind: "type_tag", type: 1 },
    { id: 18, name: "", kind: "array", elemType: 2, indexType: 1, nelems: 16 },
    { id: 19, name: "", kind: "func_proto", returnType: 1, params: [{ name: "p", type: 4 }, { name: "", type: 0 }] },
    { id: 20, name: "f", kind: "func", type: 19, linkage: 1 },
    { id: 21, name: "v", kind: "var", type: 1, linkage: 1 },
    { id: 22, name: ".data", kind: "datasec", size: 4, vars: [{ type: 21, offset: 0, size: 4 }] },
    { id: 23, name: "double", kind: "float", size: 8 },
    { id: 24, name: "tag", kind: "decl_tag", type: 20, componentIdx: 0 },
    { id: 25, name: "tag2", kind: "decl_tag", type: 5, componentIdx: -1 },
    { id: 26, name: "address_space(1)", kind: "type_tag", type: 1, attribute: true },
    { id: 27, name: "aligned(8)", kind: "decl_tag", type: 5, componentIdx: -1, attribute: true },
  ];
}

describe("BTF writer round trips", () => {
  test("clang object BTF: parse -> rebuild -> encode -> parse gives identical types", () => {
    for (const src of [TYPES_C, CORE_C]) {
      const o = compileCText(src, { name: src === TYPES_C ? "btf-types" : "btf-core" });
      const btf = Btf.parse(readElf(o.bytes).section(".BTF")!.data);
      const again = Btf.parse(rebuild(btf).encode());
      assert.deepEqual(types(again), types(btf));
    }
  });

  test("every kind, including enum64 extremes, survives encode/parse and bpftool reads it the same", () => {
    const all = everyKind();
    const btf = Btf.fromTypes(all);
    assert.deepEqual(types(btf), all);
    btf.validate();
    if (hasTool("bpftool")) {
      const dir = join(tmpdir(), `tsbpf-writer-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "all.btf"), btf.bytes);
      assert.deepEqual(bpftoolTypes(join(dir, "all.btf")), all.map(normalize));
      // the kind_flag of attribute tags is in the bytes even though bpftool 7.1 does not print it
      const raw = btf.rawTypes;
      assert.equal(raw[raw.length - 28 + 7], 0x80 | 18, "type_tag info: kind_flag | BTF_KIND_TYPE_TAG");
      assert.equal(raw[raw.length - 16 + 7], 0x80 | 17, "decl_tag info: kind_flag | BTF_KIND_DECL_TAG");
    }
  });

  test("vmlinux: all types survive; with the original strings seeded the name offsets are unchanged",
    { skip: !existsSync("/sys/kernel/btf/vmlinux") && "no kernel BTF" }, () => {
      const btf = Btf.parse(readFileSync("/sys/kernel/btf/vmlinux"));
      const b = rebuild(btf, new BtfBuilder({ strings: btf.rawStrings }));
      const again = Btf.parse(b.encode());
      assert.equal(again.typeCount, btf.typeCount);
      assert.equal(again.rawStrings.length, btf.rawStrings.length, "no string was added");
      for (let id = 1; id < btf.typeCount; id++) {
        assert.deepEqual(again.type(id), btf.type(id));
        assert.equal(again.nameOffsetOf(id), btf.nameOffsetOf(id));
      }
      // pahole's encoding is canonical enough that the blob comes back byte for byte.
      assert.ok(Buffer.from(again.bytes).equals(Buffer.from(btf.bytes)), "re-encoded vmlinux BTF is identical");
    });
});

describe("BtfBuilder", () => {
  test("strings are deduplicated, the empty string is offset 0", () => {
    const b = new BtfBuilder();
    assert.equal(b.addString(""), 0);
    const a = b.addString("alpha");
    assert.equal(a, 1);
    assert.equal(b.addString("beta"), 7);
    assert.equal(b.addString("alpha"), a);
    b.add({ kind: "fwd", name: "alpha", fwdKind: "struct" });
    const btf = Btf.parse(b.encode());
    assert.equal(btf.rawStrings.length, 1 + 6 + 5);
    assert.equal(btf.string(a), "alpha");
    assert.equal(btf.nameOffsetOf(1), a);
    throwsBtf(() => b.addString("nul\0inside"), "BTF_BAD_STRING");
  });

  test("a seeded string section keeps its offsets and appends new strings", () => {
    const seed = new Uint8Array([0, ...new TextEncoder().encode("one"), 0, ...new TextEncoder().encode("two"), 0]);
    const b = new BtfBuilder({ strings: seed });
    assert.equal(b.addString("two"), 5);
    assert.equal(b.addString("one"), 1);
    assert.equal(b.addString("three"), seed.length);
    const btf = Btf.parse(b.encode());
    assert.equal(btf.string(5), "two");
    assert.equal(btf.string(seed.length), "three");
    throwsBtf(() => new BtfBuilder({ strings: new Uint8Array([0, 65]) }), "BTF_BAD_STRING");
    throwsBtf(() => new BtfBuilder({ strings: new Uint8Array([65, 0]) }), "BTF_BAD_STRING");
  });

  test("ids start at 1; split builders continue the base's ids and strings", () => {
    const base = Btf.fromTypes(everyKind());
    const b = new BtfBuilder({ base });
    assert.equal(b.nextId, base.typeCount);
    const p = b.add({ kind: "ptr", name: "", type: 5 });
    const t = b.add({ kind: "typedef", name: "s_ptr", type: p });
    assert.equal(t, base.typeCount + 1);
    const split = Btf.parse(b.encode(), { base });
    assert.equal(split.toString(t), "s_ptr");
    assert.equal(split.toString(p), "struct s *");
    assert.ok(split.nameOffsetOf(t) >= base.rawStrings.length);
    assert.deepEqual(split.find("s_ptr"), [t]);
  });

  test("bad types are rejected with BtfError", () => {
    const b = new BtfBuilder();
    throwsBtf(() => b.add({ kind: "void", name: "" } as BtfTypeSpec), "BTF_BAD_TYPE");
    throwsBtf(() => b.add({ kind: "enum", name: "e", size: 4, signed: false, is64: false, values: [{ name: "X", value: 1n << 32n }] }), "BTF_BAD_TYPE");
    throwsBtf(() => b.add({ kind: "enum", name: "e", size: 8, signed: true, is64: true, values: [{ name: "X", value: -(2n ** 63n) - 1n }] }), "BTF_BAD_TYPE");
    throwsBtf(() => b.add({ kind: "ptr", name: "", type: -1 }), "BTF_BAD_TYPE");
    throwsBtf(() => b.add({ kind: "nope", name: "" } as unknown as BtfTypeSpec), "BTF_BAD_TYPE");
    throwsBtf(() => b.add({ kind: "struct", name: "s", size: 4, members: [{ name: "m", type: 0, bitOffset: 1 << 24, bitfieldSize: 1 }] }), "BTF_BAD_TYPE");
    const dangling = new BtfBuilder();
    dangling.add({ kind: "ptr", name: "", type: 7 });
    throwsBtf(() => dangling.encode(), "BTF_BAD_TYPE");
    dangling.add({ kind: "ptr", name: "", type: 0 });
    throwsBtf(() => dangling.encode(), "BTF_BAD_TYPE");
    throwsBtf(() => encodeBtf([{ id: 2, name: "", kind: "ptr", type: 0 }]), "BTF_BAD_TYPE");
    assert.equal(Btf.parse(encodeBtf([{ id: 0, name: "", kind: "void" }, { id: 1, name: "", kind: "ptr", type: 0 }])).typeCount, 2);
  });

  test("forward references are fine once the target is added", () => {
    const b = new BtfBuilder();
    const p = b.add({ kind: "ptr", name: "", type: 2 });
    const s = b.add({ kind: "struct", name: "list", size: 8, members: [{ name: "next", type: p, bitOffset: 0, bitfieldSize: 0 }] });
    const btf = Btf.parse(b.encode());
    assert.equal(btf.toString(p), "struct list *");
    assert.equal(btf.sizeof(s), 8);
  });
});
