// Unit tests of CO-RE access-spec parsing, flavor names and candidate search on synthesized BTF.
// No kernel needed: local and target BTF are built with the BTF writer and parsed back.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreReloKind } from "../../src/btf/types.js";
import { CoreError } from "../../src/errors.js";
import {
  essentialName, essentialNameLength, findCandidates, formatSpec, namesMatch, parseCoreSpec,
} from "../../src/core/index.js";
import { Types, relo } from "../fixtures/core/synth.js";

const K = CoreReloKind;

/** struct outer { int pad; union { int a; long b; }; int arr[4]; struct inner in; } */
function sample() {
  const t = new Types();
  const int = t.int("int", 4, true);
  const long = t.int("long", 8, true);
  const inner = t.struct("inner", 8, [["x", int, 0], ["y", int, 32]]);
  const anon = t.union("", 8, [["a", int, 0], ["b", long, 0]]);
  const arr = t.array(int, 4);
  const outer = t.struct("outer", 40, [["pad", int, 0], ["", anon, 64], ["arr", arr, 128], ["in", inner, 256]]);
  const td = t.typedef("outer_t", outer);
  const color = t.enum("color", [["RED", 0], ["GREEN", 1], ["BLUE", 7]]);
  const flex = t.struct("flex", 4, [["n", int, 0], ["data", t.array(int, 0), 32]]);
  return { btf: t.btf(), int, long, inner, anon, arr, outer, td, color, flex };
}

describe("core: essential names", () => {
  test("strip the last ___flavor suffix", () => {
    assert.equal(essentialName("task_struct___v1"), "task_struct");
    assert.equal(essentialName("a___b___c"), "a___b");
    assert.equal(essentialName("task_struct"), "task_struct");
    assert.equal(essentialNameLength("foo___1"), 3);
  });
  test("underscore runs that are not X___Y separators are kept", () => {
    assert.equal(essentialName("a____b"), "a____b");
    assert.equal(essentialName("___a"), "___a");
    assert.equal(essentialName("a___"), "a___");
    assert.equal(essentialName("_a___b"), "_a");
  });
  test("namesMatch: anonymous target only matches anonymous local", () => {
    assert.equal(namesMatch("", ""), true);
    assert.equal(namesMatch("x", ""), false);
    assert.equal(namesMatch("s___a", "s___b"), true);
    assert.equal(namesMatch("s", "t"), false);
  });
});

describe("core: access spec parsing", () => {
  test("field through an anonymous union: raw path keeps it, accessors skip it", () => {
    const s = sample();
    const spec = parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.outer, "0:1:1"));
    assert.deepEqual(spec.raw, [0, 1, 1]);
    assert.deepEqual(spec.accessors.map((a) => a.name), [undefined, "b"]);
    assert.equal(spec.accessors[1].typeId, s.anon);
    assert.equal(spec.bitOffset, 64);
    assert.match(formatSpec(spec), /struct outer\.b \(0:1:1 @ offset 8\)/);
  });

  test("array index and nested struct accumulate the bit offset", () => {
    const s = sample();
    const a = parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.outer, "0:2:3"));
    assert.equal(a.bitOffset, 128 + 3 * 32);
    assert.deepEqual(a.accessors.map((x) => [x.name, x.index]), [[undefined, 0], ["arr", 2], [undefined, 3]]);
    assert.equal(a.accessors[2].typeId, s.int, "array accessor records the element type");
    const b = parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.outer, "0:3:1"));
    assert.equal(b.bitOffset, 256 + 32);
    // A pointer index on the root multiplies the root size.
    const c = parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.outer, "2:0"));
    assert.equal(c.bitOffset, 2 * 40 * 8);
  });

  test("typedef roots are resolved", () => {
    const s = sample();
    const spec = parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.td, "0:3:0"));
    assert.equal(spec.rootTypeId, s.td);
    assert.equal(spec.accessors[0].typeId, s.outer);
    assert.equal(spec.bitOffset, 256);
  });

  test("flexible array members accept any index; fixed arrays are bounds-checked", () => {
    const s = sample();
    assert.equal(parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.flex, "0:1:100")).bitOffset, 32 + 100 * 32);
    assert.throws(() => parseCoreSpec(s.btf, relo(K.FieldByteOffset, s.outer, "0:2:4")), { code: "CORE_BAD_ACCESS_STRING" });
  });

  test("enum value and type-based specs", () => {
    const s = sample();
    const e = parseCoreSpec(s.btf, relo(K.EnumvalValue, s.color, "2"));
    assert.deepEqual(e.accessors, [{ typeId: s.color, index: 2, name: "BLUE" }]);
    const t = parseCoreSpec(s.btf, relo(K.TypeSize, s.outer, "0"));
    assert.deepEqual([t.accessors.length, t.raw.length], [0, 0]);
  });

  const bad: [string, number, string][] = [
    ["empty access string", K.FieldByteOffset, ""],
    ["trailing colon", K.FieldByteOffset, "0:1:"],
    ["leading colon", K.FieldByteOffset, ":0"],
    ["not a number", K.FieldByteOffset, "0:x"],
    ["negative index", K.FieldByteOffset, "0:-1"],
    ["member index past the end", K.FieldByteOffset, "0:9"],
    ["stepping into an int", K.FieldByteOffset, "0:0:1"],
    ["type-based relocation with a field path", K.TypeExists, "0:1"],
    ["enum value index out of range", K.EnumvalExists, "3"],
    ["enum value with two indices", K.EnumvalExists, "0:1"],
  ];
  for (const [what, kind, access] of bad) {
    test(`rejects ${what} with a CoreError naming type and access string`, () => {
      const s = sample();
      const typeId = kind === K.EnumvalExists ? s.color : s.outer;
      assert.throws(
        () => parseCoreSpec(s.btf, relo(kind as 0, typeId, access), { section: "tp/x", index: 4 }),
        (e: unknown) => {
          assert.ok(e instanceof CoreError);
          assert.equal(e.code, "CORE_BAD_ACCESS_STRING");
          assert.match(e.message, /CO-RE relocation #4/);
          assert.match(e.message, /in "tp\/x"/);
          assert.ok(e.message.includes(`"${access}"`), e.message);
          assert.match(e.message, kind === K.EnumvalExists ? /enum color/ : /struct outer/);
          return true;
        },
      );
    });
  }

  test("enum value relocation on a struct, unknown kinds and bad type ids are rejected", () => {
    const s = sample();
    assert.throws(() => parseCoreSpec(s.btf, relo(K.EnumvalValue, s.outer, "0")), { code: "CORE_BAD_ACCESS_STRING" });
    assert.throws(() => parseCoreSpec(s.btf, relo(42 as 0, s.outer, "0")), { code: "CORE_UNKNOWN_KIND" });
    assert.throws(() => parseCoreSpec(s.btf, relo(K.FieldExists, 999, "0")), { code: "CORE_BAD_RELO" });
    assert.throws(() => parseCoreSpec(s.btf, relo(K.FieldExists, 0, "0")), { code: "CORE_BAD_RELO" });
  });
});

describe("core: candidate search", () => {
  function kernelPair() {
    const k = new Types();
    const int = k.int("int", 4, true);
    const task = k.struct("task", 4, [["pid", int, 0]]);
    const task2 = k.struct("task___2", 8, [["x", int, 0], ["pid", int, 32]]);
    const taskUnion = k.union("task", 4, [["pid", int, 0]]);
    const fwd = k.fwd("task");
    const vmlinux = k.btf();
    const m = new Types(vmlinux);
    const modOnly = m.struct("mod_only", 4, [["pid", int, 0]]);
    const modTask = m.struct("task", 4, [["pid", int, 0]]);
    const mod = m.btf();
    return { vmlinux, mod, task, task2, taskUnion, fwd, modOnly, modTask };
  }

  test("same kind, essential name, flavors on either side", () => {
    const kp = kernelPair();
    const l = new Types();
    const int = l.int("int", 4, true);
    const local = l.struct("task___mine", 4, [["pid", int, 0]]);
    const localUnion = l.union("task", 4, [["pid", int, 0]]);
    const lb = l.btf();
    assert.deepEqual(findCandidates(lb, local, kp.vmlinux).map((c) => c.id), [kp.task, kp.task2]);
    assert.deepEqual(findCandidates(lb, localUnion, kp.vmlinux).map((c) => c.id), [kp.taskUnion]);
  });

  test("modules are searched only when vmlinux has no candidate, own types only", () => {
    const kp = kernelPair();
    const l = new Types();
    const int = l.int("int", 4, true);
    const local = l.struct("mod_only", 4, [["pid", int, 0]]);
    const localTask = l.struct("task", 4, [["pid", int, 0]]);
    const lb = l.btf();
    const found = findCandidates(lb, local, [kp.vmlinux, kp.mod]);
    assert.deepEqual(found.map((c) => [c.btf, c.id]), [[kp.mod, kp.modOnly]]);
    let asked = 0;
    const lazy = { vmlinux: kp.vmlinux, modules: () => (asked++, [kp.mod]) };
    assert.deepEqual(findCandidates(lb, localTask, lazy).map((c) => c.id), [kp.task, kp.task2]);
    assert.equal(asked, 0, "module BTFs are not loaded when vmlinux has candidates");
    assert.deepEqual(findCandidates(lb, local, lazy).map((c) => c.id), [kp.modOnly]);
    assert.equal(asked, 1);
  });

  test("anonymous local types have no candidates", () => {
    const kp = kernelPair();
    const l = new Types();
    const anon = l.struct("", 0, []);
    assert.throws(() => findCandidates(l.btf(), anon, kp.vmlinux), { code: "CORE_ANONYMOUS_TYPE" });
  });

  test("an empty target list is an error", () => {
    const l = new Types();
    const s = l.struct("s", 0, []);
    assert.throws(() => findCandidates(l.btf(), s, []), { code: "CORE_NO_TARGET" });
  });
});
