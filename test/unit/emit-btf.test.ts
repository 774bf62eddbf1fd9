// CType -> BTF conversion of the object writer: deduplication (structural and by identity), self
// referencing structs, int encodings, enums, bitfields, typedefs and prototypes.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Btf } from "../../src/btf/btf.js";
import { BtfTypeTable } from "../../src/compiler/emit/btf-types.js";
import type { CType } from "../../src/compiler/module.js";
import { EmitError } from "../../src/compiler/emit/errors.js";

function encoded(table: BtfTypeTable): Btf {
  return Btf.parse(table.build().encode());
}

const u32: CType = { kind: "int", name: "u32", size: 4, signed: false };
const point = (): CType => ({ kind: "struct", name: "point", size: 8, members: [{ name: "x", type: u32, bitOffset: 0 }, { name: "y", type: u32, bitOffset: 32 }] });

describe("emit: CType to BTF", () => {
  test("structurally equal types share an id, also across distinct objects", () => {
    const t = new BtfTypeTable();
    const a = t.ctype(point(), "a");
    const b = t.ctype(point(), "b");
    const p1 = t.ctype({ kind: "ptr", target: point() }, "p1");
    const p2 = t.ctype({ kind: "ptr", target: point() }, "p2");
    assert.equal(a, b);
    assert.equal(p1, p2);
    const arr = t.ctype({ kind: "array", element: u32, length: 4 }, "arr");
    assert.equal(t.ctype({ kind: "array", element: { ...u32 }, length: 4 }, "arr2"), arr);
    assert.notEqual(t.ctype({ kind: "array", element: u32, length: 5 }, "arr3"), arr);
    const btf = encoded(t);
    assert.equal(btf.find("point", "struct").length, 1);
    assert.equal(btf.find("u32", "int").length, 1);
  });

  test("a self-referencing struct (linked list) and mutually recursive structs", () => {
    const node = { kind: "struct", name: "node", size: 16, members: [] as { name: string; type: CType; bitOffset: number }[] } as const;
    node.members.push({ name: "value", type: { kind: "int", name: "long", size: 8, signed: true }, bitOffset: 0 });
    node.members.push({ name: "next", type: { kind: "ptr", target: node }, bitOffset: 64 });
    const a = { kind: "struct", name: "a", size: 8, members: [] as { name: string; type: CType; bitOffset: number }[] } as const;
    const b = { kind: "struct", name: "b", size: 8, members: [{ name: "a", type: { kind: "ptr", target: a } as CType, bitOffset: 0 }] } as const;
    a.members.push({ name: "b", type: { kind: "ptr", target: b }, bitOffset: 0 });
    const t = new BtfTypeTable();
    const id = t.ctype(node, "node");
    const ida = t.ctype(a, "a");
    const btf = encoded(t);
    const n = btf.type(id);
    assert.ok(n.kind === "struct");
    const next = btf.type(n.members[1]!.type);
    assert.ok(next.kind === "ptr");
    assert.equal(next.type, id, "next points back at node");
    const ta = btf.type(ida);
    assert.ok(ta.kind === "struct");
    const tb = btf.type((btf.type(ta.members[0]!.type) as { type: number }).type);
    assert.ok(tb.kind === "struct" && tb.name === "b");
    assert.equal((btf.type(tb.members[0]!.type) as { type: number }).type, ida);
  });

  test("int encodings: bool, char, signed, unsigned; only one encoding bit is ever set", () => {
    const t = new BtfTypeTable();
    const ids = [
      t.ctype({ kind: "int", name: "bool", size: 1, signed: false, bool: true }, "b"),
      t.ctype({ kind: "int", name: "char", size: 1, signed: true, char: true }, "c"),
      t.ctype({ kind: "int", name: "unsigned char", size: 1, signed: false, char: true }, "uc"),
      t.ctype({ kind: "int", name: "long", size: 8, signed: true }, "l"),
      t.ctype({ kind: "int", name: "__u128", size: 16, signed: false }, "u128"),
    ];
    const btf = encoded(t);
    const enc = ids.map((id) => {
      const x = btf.type(id);
      assert.ok(x.kind === "int");
      return [x.name, x.size, x.bits, x.signed, x.char, x.bool];
    });
    assert.deepEqual(enc, [
      ["bool", 1, 8, false, false, true],
      ["char", 1, 8, true, false, false],
      ["unsigned char", 1, 8, false, true, false],
      ["long", 8, 64, true, false, false],
      ["__u128", 16, 128, false, false, false],
    ]);
  });

  test("enums (32 and 64 bit), typedefs, forward declarations, unions, bitfields, variadic prototypes", () => {
    const t = new BtfTypeTable();
    const e = t.ctype({ kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "RED", value: 0n }, { name: "BLUE", value: 7n }] }, "e");
    const e64 = t.ctype({ kind: "enum", name: "big", size: 8, signed: false, values: [{ name: "HUGE", value: 1n << 40n }] }, "e64");
    const td = t.ctype({ kind: "typedef", name: "u32_t", target: u32 }, "td");
    const fwd = t.ctype({ kind: "ptr", target: { kind: "fwd", name: "sock" } }, "fwd");
    const un = t.ctype({ kind: "union", name: "u", size: 8, members: [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: { kind: "int", name: "long", size: 8, signed: true }, bitOffset: 0 }] }, "un");
    const bf = t.ctype({ kind: "struct", name: "flags", size: 4, members: [{ name: "lo", type: u32, bitOffset: 0, bitSize: 3 }, { name: "hi", type: u32, bitOffset: 3, bitSize: 29 }] }, "bf");
    const fp = t.ctype({ kind: "func_proto", returns: { kind: "void" }, params: [{ name: "fmt", type: { kind: "ptr", target: u32 } }], variadic: true }, "fp");
    const btf = encoded(t);
    const te = btf.type(e);
    assert.ok(te.kind === "enum" && !te.is64 && te.values[1]!.value === 7n);
    const te64 = btf.type(e64);
    assert.ok(te64.kind === "enum" && te64.is64 && te64.values[0]!.value === 1n << 40n);
    assert.equal(btf.type(td).kind, "typedef");
    assert.equal(btf.type((btf.type(fwd) as { type: number }).type).kind, "fwd");
    assert.equal(btf.type(un).kind, "union");
    const tbf = btf.type(bf);
    assert.ok(tbf.kind === "struct");
    assert.deepEqual(tbf.members.map((m) => [m.bitOffset, m.bitfieldSize]), [[0, 3], [3, 29]]);
    const tfp = btf.type(fp);
    assert.ok(tfp.kind === "func_proto");
    assert.deepEqual(tfp.params.map((p) => [p.name, p.type === 0]), [["fmt", false], ["", true]]);
  });

  test("malformed types raise EMIT_BAD_TYPE naming the user of the type", () => {
    const bad: [unknown, RegExp][] = [
      [{ kind: "int", name: "i24", size: 3, signed: true }, /size 3/],
      [{ kind: "int", name: "", size: 4, signed: true }, /no name/],
      [{ kind: "int", name: "b", size: 4, signed: false, bool: true }, /bool/],
      [{ kind: "array", element: u32, length: -1 }, /length/],
      [{ kind: "struct", name: "s", size: 4, members: [{ name: "x", type: { kind: "int", name: "long", size: 8, signed: true }, bitOffset: 0 }] }, /outside/],
      [{ kind: "struct", name: "bad name", size: 0, members: [] }, /identifier/],
      [{ kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "X", value: 1n << 33n }] }, /does not fit/],
      [{ kind: "typedef", name: "t", target: { kind: "banana" } }, /unknown type kind/],
      [{ kind: "func_proto", returns: { kind: "void" }, params: [{ name: "v", type: { kind: "void" } }] }, /void/],
      [{ kind: "ptr" }, /not a CType/],
      [null, /not a CType/],
    ];
    for (const [ct, re] of bad) {
      const t = new BtfTypeTable();
      assert.throws(() => t.ctype(ct as CType, "variable \"v\""), (e: unknown) => e instanceof EmitError && e.code === "EMIT_BAD_TYPE" && re.test(e.message) && e.message.includes("variable \"v\""), String(re));
    }
    // A typedef cycle never terminates structurally: refused, not a stack overflow.
    const td: { kind: "typedef"; name: string; target: CType } = { kind: "typedef", name: "loop", target: u32 };
    td.target = td;
    assert.throws(() => new BtfTypeTable().ctype(td, "x"), (e: unknown) => e instanceof EmitError && e.code === "EMIT_BAD_TYPE");
  });
});
