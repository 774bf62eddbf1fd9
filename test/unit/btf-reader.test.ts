// Unit tests of the lazy BTF reader: clang objects decoded like bpftool, queries, split BTF, bad input.
// Objects are compiled at test time with clang -target bpf (compileCText, cached by content).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Btf } from "../../src/btf/btf.js";
import { BtfBuilder } from "../../src/btf/writer.js";
import type { BtfType } from "../../src/btf/types.js";
import { readElf } from "../../src/elf/reader.js";
import { BtfError } from "../../src/errors.js";
import { compileCText, compileFixture, hasTool } from "../helpers/toolchain.js";
import { bpftoolTypes, normalize } from "../helpers/bpftool-btf.js";
import { TYPES_C } from "../helpers/c-sources.js";


function objectBtf(bytes: Uint8Array): Btf {
  const sec = readElf(bytes).section(".BTF");
  assert.ok(sec, "object has .BTF");
  return Btf.parse(sec.data);
}

function allTypes(btf: Btf): BtfType[] {
  return [...btf.ids()].map((id) => btf.type(id));
}

/** Assert `fn` throws a BtfError (and nothing else). */
function throwsBtf(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${String(e)}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

const u32Int = { kind: "int", name: "u32", size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 } as const;

describe("Btf reader on clang objects", () => {
  const obj = compileCText(TYPES_C, { name: "btf-types" });
  const btf = objectBtf(obj.bytes);

  test("every type decodes exactly as bpftool dumps it", { skip: !hasTool("bpftool") && "bpftool missing" }, () => {
    const want = bpftoolTypes(obj.path);
    assert.equal(btf.typeCount, want.length + 1);
    assert.deepEqual(allTypes(btf).map(normalize), want);
  });

  test("every fixture object decodes like bpftool", { skip: !hasTool("bpftool") && "bpftool missing" }, () => {
    const dir = new URL("../fixtures/c/", import.meta.url).pathname;
    let checked = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".c"))) {
      let o;
      try {
        o = compileFixture(file);
      } catch {
        continue; // a fixture that needs a newer clang is not this test's subject
      }
      const elf = readElf(o.bytes);
      const sec = elf.section(".BTF");
      if (!sec) continue;
      const b = Btf.parse(sec.data);
      b.validate();
      assert.deepEqual(allTypes(b).map(normalize), bpftoolTypes(o.path), file);
      checked++;
    }
    assert.ok(checked >= 3, `checked ${checked} fixtures`);
  });

  test("struct members with bitfields, offsets and the decl tag on the struct", () => {
    const id = btf.findOne("bits", "struct")!;
    const t = btf.type(id);
    assert.equal(t.kind, "struct");
    if (t.kind !== "struct") return;
    assert.equal(t.size, 24);
    assert.deepEqual(t.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize]), [
      ["a", 0, 3], ["b", 3, 5], ["c", 8, 7], ["d", 64, 0], ["e", 128, 0],
    ]);
    assert.equal(btf.toString(t.members[3].type), "unsigned long long");
    assert.equal(btf.toString(t.members[4].type), "char[3]");
    const tag = btf.find("bits_tag", "decl_tag").map((i) => btf.type(i));
    assert.deepEqual(tag.map((x) => x.kind === "decl_tag" && [x.type, x.componentIdx]), [[id, -1]]);
  });

  test("enums, unions, floats, forward declarations, type tags and qualifiers", () => {
    const color = btf.type(btf.findOne("color", "enum")!);
    assert.ok(color.kind === "enum" && !color.is64 && color.size === 4);
    if (color.kind !== "enum") return;
    assert.deepEqual(color.values.map((v) => v.name), ["RED", "GREEN", "BLUE"]);
    assert.equal(BigInt.asIntN(32, color.values[0].value), -1n);
    assert.equal(color.values[2].value, 0x7fffffffn);
    const u = btf.type(btf.findOne("u", "union")!);
    assert.ok(u.kind === "union" && u.size === 8 && u.members.every((m) => m.bitOffset === 0));
    assert.equal(btf.kindOf(btf.findOne("double", "float")!), "float");
    const fwd = btf.type(btf.findOne("fwd_only", "fwd")!);
    assert.ok(fwd.kind === "fwd" && fwd.fwdKind === "struct");

    const node = btf.type(btf.findOne("node", "struct")!);
    assert.ok(node.kind === "struct");
    if (node.kind !== "struct") return;
    const m = Object.fromEntries(node.members.map((x) => [x.name, x]));
    assert.equal(btf.toString(m.next.type), "struct node *");
    assert.equal(btf.toString(m.p.type), "const volatile u32_alias * restrict");
    assert.equal(btf.toString(m.uptr.type), 'int __attribute__((btf_type_tag("user"))) *');
    assert.equal(btf.toString(m.arr.type), "int[3][2]".replace("[3][2]", "[3][2]"));
    assert.equal(btf.sizeof(m.arr.type), 24);
    assert.equal(btf.sizeof(m.p.type), 8);
    assert.equal(btf.sizeof(m.col.type), 4);
    assert.equal(btf.sizeof(node.id), 72);
    // p: restrict -> ptr -> const -> volatile -> typedef u32_alias -> typedef u32_t -> unsigned int
    const ptr = btf.skipQualifiers(m.p.type);
    assert.equal(btf.kindOf(ptr), "ptr");
    const target = (btf.type(ptr) as { type: number }).type;
    assert.equal(btf.nameOf(btf.skipQualifiers(target)), "u32_alias");
    assert.equal(btf.nameOf(btf.resolve(target)), "unsigned int");
    assert.equal(btf.sizeof(target), 4);
    const tagged = (btf.type(m.uptr.type) as { type: number }).type;
    assert.equal(btf.kindOf(tagged), "type_tag");
    assert.equal(btf.nameOf(tagged), "user");
    assert.equal(btf.kindOf(btf.skipQualifiers(tagged)), "int");
  });

  test("functions, prototypes, params with decl tags, vars and datasecs", () => {
    const fn = btf.type(btf.findOne("global_fn", "func")!);
    assert.ok(fn.kind === "func" && fn.linkage === 1);
    if (fn.kind !== "func") return;
    assert.equal(btf.toString(fn.id), "int global_fn(int, int (*)(void *, long))");
    const helper = btf.findOne("helper", "func")!;
    assert.equal(btf.type(helper).kind === "func" && (btf.type(helper) as { linkage: number }).linkage, 0);
    const ptag = btf.type(btf.findOne("param_tag", "decl_tag")!);
    assert.ok(ptag.kind === "decl_tag" && ptag.type === helper && ptag.componentIdx === 0);
    const proto = btf.type((btf.type(helper) as { type: number }).type);
    assert.ok(proto.kind === "func_proto");
    if (proto.kind === "func_proto") assert.deepEqual(proto.params.map((p) => p.name), ["b", "x"]);

    const data = btf.type(btf.findOne(".data", "datasec")!);
    assert.ok(data.kind === "datasec");
    if (data.kind !== "datasec") return;
    assert.equal(data.vars.length, 1);
    assert.equal(btf.nameOf(data.vars[0].type), "global_counter");
    assert.equal(data.vars[0].size, 4);
    const ro = btf.type(btf.findOne("ro_val", "var")!);
    assert.ok(ro.kind === "var" && ro.linkage === 1);
    if (ro.kind === "var") assert.equal(btf.toString(ro.type), "const volatile long");
    const bss = btf.type(btf.findOne("bss_val", "var")!);
    assert.ok(bss.kind === "var" && bss.linkage === 0);
    assert.equal(btf.sizeof(bss.id), 8);
    assert.equal(btf.findOne("no_such_name", "struct"), undefined);
    assert.deepEqual(btf.find(""), []);
  });

  test("kindOf/nameOf/ids/typeCount agree with decoded types; void is id 0", () => {
    assert.deepEqual([...btf.ids()], Array.from({ length: btf.typeCount - 1 }, (_, i) => i + 1));
    for (const id of btf.ids()) {
      const t = btf.type(id);
      assert.equal(btf.kindOf(id), t.kind);
      assert.equal(btf.nameOf(id), t.name);
      assert.equal(btf.type(id), t, "memoized");
    }
    assert.deepEqual(btf.type(0), { id: 0, name: "", kind: "void" });
    assert.equal(btf.kindOf(0), "void");
    assert.equal(btf.toString(0), "void");
    assert.equal(btf.base, undefined);
    assert.equal(btf.firstId, 1);
  });

  test("sizeof has no answer for void, func, func_proto and fwd", () => {
    throwsBtf(() => btf.sizeof(0), "BTF_NO_SIZE");
    throwsBtf(() => btf.sizeof(btf.findOne("global_fn", "func")!), "BTF_NO_SIZE");
    throwsBtf(() => btf.sizeof(btf.findOne("fwd_only", "fwd")!), "BTF_NO_SIZE");
    const fn = btf.type(btf.findOne("global_fn", "func")!) as { type: number };
    throwsBtf(() => btf.sizeof(fn.type), "BTF_NO_SIZE");
  });

  test("a blob at an unaligned offset decodes the same", () => {
    const raw = btf.bytes;
    const shifted = new Uint8Array(raw.length + 1);
    shifted.set(raw, 1);
    const again = Btf.parse(shifted.subarray(1));
    assert.deepEqual(allTypes(again), allTypes(btf));
    assert.deepEqual(again.find("node"), btf.find("node"));
  });

  test("bad ids are BtfError BTF_BAD_TYPE", () => {
    for (const id of [-1, 1.5, Number.NaN, btf.typeCount, 2 ** 32]) {
      throwsBtf(() => btf.type(id), "BTF_BAD_TYPE");
      throwsBtf(() => btf.kindOf(id), "BTF_BAD_TYPE");
      throwsBtf(() => btf.nameOf(id), "BTF_BAD_TYPE");
    }
    throwsBtf(() => btf.string(btf.rawStrings.length), "BTF_BAD_STRING");
    throwsBtf(() => btf.string(-1), "BTF_BAD_STRING");
  });
});

describe("Btf find", () => {
  test("same answers before and after the name index is built, with duplicates and kinds", () => {
    const b = new BtfBuilder();
    const int = b.add(u32Int);
    const names = Array.from({ length: 40 }, (_, i) => `name_${i}`);
    const expect = new Map<string, number[]>();
    for (const n of names) {
      const s = b.add({ kind: "struct", name: n, size: 4, members: [{ name: "x", type: int, bitOffset: 0, bitfieldSize: 0 }] });
      const t = b.add({ kind: "typedef", name: n, type: s });
      expect.set(n, [s, t]);
    }
    const dup = b.add({ kind: "struct", name: "name_3", size: 0, members: [] });
    expect.get("name_3")!.push(dup);
    const btf = Btf.parse(b.encode());
    for (let round = 0; round < 2; round++) {
      for (const n of names) {
        assert.deepEqual(btf.find(n), expect.get(n), n);
        assert.deepEqual(btf.find(n, "typedef"), [expect.get(n)![1]]);
      }
      assert.deepEqual(btf.find("name_3", "struct"), [expect.get("name_3")![0], dup]);
      assert.deepEqual(btf.find("name_"), []);
      assert.deepEqual(btf.find("x"), [], "member names are not type names");
      assert.deepEqual(btf.find("u32", "int"), [int]);
      assert.deepEqual(btf.find("u32", "struct"), []);
    }
    throwsBtf(() => btf.findOne("name_3", "struct"), "BTF_AMBIGUOUS");
    assert.equal(btf.findOne("name_4", "struct"), expect.get("name_4")![0]);
  });

  test("a name stored twice in a string section that is not deduplicated", () => {
    const enc = new TextEncoder();
    const seed = new Uint8Array([0, ...enc.encode("dup"), 0, ...enc.encode("dup"), 0]);
    const b = new BtfBuilder({ strings: seed });
    const first = b.add({ kind: "struct", name: "dup", size: 0, members: [] });
    const second = b.add({ kind: "union", name: "dup", size: 0, members: [] });
    const bytes = b.encode();
    new DataView(bytes.buffer).setUint32(24 + 12, 5, true); // second type's name_off -> the second copy
    const btf = Btf.parse(bytes);
    assert.notEqual(btf.nameOffsetOf(first), btf.nameOffsetOf(second));
    assert.deepEqual(btf.find("dup"), [first, second]);
    for (const n of ["a", "b", "c", "d", "e"]) btf.find(n); // switch to the hash index
    assert.deepEqual(btf.find("dup"), [first, second]);
    assert.deepEqual(btf.find("dup", "union"), [second]);
  });

  test("names with non-ASCII characters", () => {
    const b = new BtfBuilder();
    const id = b.add({ kind: "struct", name: "größe_ü", size: 0, members: [] });
    const btf = Btf.parse(b.encode());
    assert.deepEqual(btf.find("größe_ü", "struct"), [id]);
    assert.equal(btf.nameOf(id), "größe_ü");
  });
});

describe("split BTF", () => {
  const baseB = new BtfBuilder();
  const int = baseB.add(u32Int);
  const task = baseB.add({ kind: "struct", name: "task", size: 4, members: [{ name: "pid", type: int, bitOffset: 0, bitfieldSize: 0 }] });
  const base = Btf.parse(baseB.encode());

  const splitB = new BtfBuilder({ base });
  const ptr = splitB.add({ kind: "ptr", name: "", type: task });
  const mod = splitB.add({ kind: "struct", name: "mod_thing", size: 8, members: [{ name: "t", type: ptr, bitOffset: 0, bitfieldSize: 0 }] });
  const again = splitB.add({ kind: "typedef", name: "task", type: task });
  const splitBytes = splitB.encode();
  const split = Btf.parse(splitBytes, { base });

  test("ids and string offsets continue the base's", () => {
    assert.equal(split.firstId, base.typeCount);
    assert.equal(ptr, base.typeCount);
    assert.equal(split.typeCount, base.typeCount + 3);
    assert.equal(split.base, base);
    assert.equal(split.stringBase, base.rawStrings.length);
    assert.equal(split.type(task), base.type(task));
    const m = split.type(mod);
    assert.ok(m.kind === "struct" && m.members[0].name === "t" && m.members[0].type === ptr);
    assert.equal(split.toString(mod), "struct mod_thing");
    assert.equal(split.toString(ptr), "struct task *");
    assert.equal(split.sizeof(ptr), 8);
    assert.deepEqual([...split.ids()].length, split.typeCount - 1);
  });

  test("find covers base and own types; findOwn only own", () => {
    assert.deepEqual(split.find("task"), [task, again]);
    assert.deepEqual(split.findOwn("task"), [again]);
    assert.deepEqual(split.find("u32", "int"), [int]);
    assert.deepEqual(split.findOwn("u32"), []);
    assert.deepEqual(split.find("mod_thing"), [mod]);
  });

  test("bpftool -B reads the split blob the same way", { skip: !hasTool("bpftool") && "bpftool missing" }, () => {
    const dir = join(tmpdir(), `tsbpf-split-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "base.btf"), base.bytes);
    writeFileSync(join(dir, "split.btf"), splitBytes);
    const want = bpftoolTypes(join(dir, "split.btf"), join(dir, "base.btf"));
    const got = [...split.ids()].filter((id) => id >= split.firstId).map((id) => split.type(id));
    assert.deepEqual(got.map(normalize), want);
  });
});

/** A raw BTF blob with `n` pointer-to-void types, built directly (fast for huge counts). */
function rawPtrBtf(n: number): Uint8Array {
  const typeLen = n * 12;
  const out = new Uint8Array(24 + typeLen + 1);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true); v.setUint8(2, 1); v.setUint32(4, 24, true);
  v.setUint32(8, 0, true); v.setUint32(12, typeLen, true); v.setUint32(16, typeLen, true); v.setUint32(20, 1, true);
  const w = new Uint32Array(out.buffer, 24, n * 3);
  for (let i = 0; i < n; i++) w[i * 3 + 1] = 2 << 24;
  return out;
}

describe("Btf reader on bad input", () => {
  const obj = compileCText(TYPES_C, { name: "btf-types" });
  const good = readElf(obj.bytes).section(".BTF")!.data.slice();

  test("every truncated prefix is a BtfError", () => {
    for (let len = 0; len < good.length; len++) {
      const bytes = good.slice(0, len);
      assert.throws(() => {
        const b = Btf.parse(bytes);
        b.validate();
      }, (e: unknown) => e instanceof BtfError, `prefix of ${len} bytes`);
    }
  });

  test("header errors name what is wrong", () => {
    const patch = (f: (v: DataView) => void): Uint8Array => {
      const b = good.slice();
      f(new DataView(b.buffer));
      return b;
    };
    throwsBtf(() => Btf.parse(patch((v) => v.setUint16(0, 0x1234, true))), "BTF_BAD_MAGIC");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint16(0, 0x9feb, true))), "BTF_WRONG_ENDIAN");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint8(2, 2))), "BTF_BAD_VERSION");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(4, 8, true))), "BTF_BAD_HEADER");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(4, 0xffffffff, true))), "BTF_BAD_HEADER");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(12, v.getUint32(12, true) + 4000, true))), "BTF_TRUNCATED");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(20, 0xfffffff0, true))), "BTF_TRUNCATED");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(12, v.getUint32(12, true) - 2, true))), "BTF_BAD_HEADER");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(12, v.getUint32(12, true) - 4, true))), "BTF_TRUNCATED");
    throwsBtf(() => Btf.parse(patch((v) => v.setUint32(16, 0, true))), "BTF_BAD_HEADER");
  });

  test("name offsets outside the string section and unknown kinds", () => {
    const strLen = new DataView(good.buffer).getUint32(20, true);
    const b = good.slice();
    new DataView(b.buffer).setUint32(24, strLen + 5, true); // type 1 name_off
    throwsBtf(() => Btf.parse(b), "BTF_BAD_STRING");
    const k = good.slice();
    new DataView(k.buffer).setUint32(28, 25 << 24, true); // type 1 info: kind 25
    throwsBtf(() => Btf.parse(k), "BTF_BAD_TYPE");
    const noNul = good.slice();
    noNul[noNul.length - 1] = 0x41;
    throwsBtf(() => Btf.parse(noNul), "BTF_BAD_STRING");
  });

  test("a member name outside the string section fails when the type is decoded", () => {
    const b = new BtfBuilder();
    const int = b.add(u32Int);
    const s = b.add({ kind: "struct", name: "s", size: 4, members: [{ name: "m", type: int, bitOffset: 0, bitfieldSize: 0 }] });
    const bytes = b.encode();
    const v = new DataView(bytes.buffer);
    // type 1: 16 bytes; type 2 header at 24+16, first member name at +12
    v.setUint32(24 + 16 + 12, 0xffff, true);
    const btf = Btf.parse(bytes);
    throwsBtf(() => btf.type(s), "BTF_BAD_STRING");
    throwsBtf(() => btf.validate(), "BTF_BAD_STRING");
    assert.equal(btf.nameOf(s), "s");
  });

  test("references to missing types and typedef loops", () => {
    const b = new BtfBuilder();
    const a = b.add({ kind: "typedef", name: "a", type: 2 });
    b.add({ kind: "const", name: "", type: 1 }); // a -> const -> a
    const c = b.add({ kind: "const", name: "", type: 4 });
    b.add({ kind: "volatile", name: "", type: 3 }); // const -> volatile -> const
    const btf = Btf.parse(b.encode());
    throwsBtf(() => btf.resolve(a), "BTF_BAD_TYPE");
    throwsBtf(() => btf.skipQualifiers(c), "BTF_BAD_TYPE");
    throwsBtf(() => btf.sizeof(a), "BTF_BAD_TYPE");
    assert.equal(btf.toString(a), "a");
    assert.match(btf.toString(c), /\.\.\./);

    const bytes = new BtfBuilder();
    bytes.add({ kind: "ptr", name: "", type: 0 });
    const raw = bytes.encode();
    new DataView(raw.buffer).setUint32(24 + 8, 99, true); // ptr -> 99
    const bad = Btf.parse(raw);
    throwsBtf(() => bad.type(1), "BTF_BAD_TYPE");
    throwsBtf(() => bad.validate(), "BTF_BAD_TYPE");
    throwsBtf(() => bad.sizeof(1) && bad.resolve(99), "BTF_BAD_TYPE");
  });

  test("type count overflow (more than BTF_MAX_TYPE ids)", () => {
    const ok = Btf.parse(rawPtrBtf(0xfffff));
    assert.equal(ok.typeCount, 0x100000);
    throwsBtf(() => Btf.parse(rawPtrBtf(0x100000)), "BTF_TOO_MANY_TYPES");
    // split BTF: the base's ids count toward the limit
    const base = Btf.parse(rawPtrBtf(0xffff0));
    const split = rawPtrBtf(16);
    split[24 + 16 * 12] = 0; // the split string section is just "\0"
    throwsBtf(() => Btf.parse(split, { base }), "BTF_TOO_MANY_TYPES");
    assert.equal(Btf.parse(rawPtrBtf(15), { base }).typeCount, 0x100000);
  });

  test("random corruption never escapes as another exception and never hangs", () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let parsed = 0;
    for (let round = 0; round < 2000; round++) {
      const b = good.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        const btf = Btf.parse(b);
        for (const id of btf.ids()) {
          btf.toString(id);
          try { btf.sizeof(id); } catch (e) { if (!(e instanceof BtfError)) throw e; }
          try { btf.resolve(id); } catch (e) { if (!(e instanceof BtfError)) throw e; }
        }
        btf.find("node");
        btf.validate();
        parsed++;
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
      }
    }
    assert.ok(parsed > 0);
  });
});
