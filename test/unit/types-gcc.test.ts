// Checks tsbpf/types layouts against gcc: hand-written equivalent C structs are compiled at test time
// (binary cached in .cache/types-gcc/) and their sizeof/_Alignof/offsetof must match ours exactly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  array,
  bool,
  bytes,
  cstring,
  describe as describeLayout,
  i16,
  i32,
  i64,
  i8,
  memberOf,
  padding,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
  type AnyLayout,
} from "../../src/types/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const hasGcc = spawnSync("gcc", ["--version"]).status === 0;

interface Case {
  /** Name of the hand-written C struct (`struct <name>`). */
  readonly name: string;
  /** Body of the hand-written C definition: `struct <attrs> <name> <body>;` */
  readonly c: string;
  readonly attrs?: string;
  readonly layout: AnyLayout;
  /** Member designators to compare (`inner.y`, `items[2].b`). */
  readonly paths: readonly string[];
}

const Pair = struct({ a: u32, b: u8 });

const cases: Case[] = [
  {
    name: "exec_event",
    c: "{ u32 pid; u32 ppid; u8 comm[16]; }",
    layout: struct({ pid: u32, ppid: u32, comm: bytes(16) }),
    paths: ["pid", "ppid", "comm"],
  },
  {
    name: "mixed",
    c: "{ u8 a; u64 b; u16 c; }",
    layout: struct({ a: u8, b: u64, c: u16 }),
    paths: ["a", "b", "c"],
  },
  {
    name: "small",
    c: "{ u8 a; u16 b; u8 c; u32 d; u8 e; }",
    layout: struct({ a: u8, b: u16, c: u8, d: u32, e: u8 }),
    paths: ["a", "b", "c", "d", "e"],
  },
  {
    name: "nested",
    c: "{ u8 tag; struct { u16 x; u64 y; } inner; u8 tail; }",
    layout: struct({ tag: u8, inner: struct({ x: u16, y: u64 }), tail: u8 }),
    paths: ["tag", "inner", "inner.x", "inner.y", "tail"],
  },
  {
    name: "with_union",
    c: "{ u8 k; union { u8 a; u32 b; u8 c[7]; } u; u16 z; }",
    layout: struct({ k: u8, u: union({ a: u8, b: u32, c: bytes(7) }), z: u16 }),
    paths: ["k", "u", "u.a", "u.b", "u.c", "z"],
  },
  {
    name: "packed",
    attrs: "__attribute__((packed))",
    c: "{ u8 a; u64 b; u16 c; }",
    layout: struct({ a: u8, b: u64, c: u16 }, { packed: true }),
    paths: ["a", "b", "c"],
  },
  {
    name: "aligned16",
    attrs: "__attribute__((aligned(16)))",
    c: "{ u32 a; u8 b; }",
    layout: struct({ a: u32, b: u8 }, { align: 16 }),
    paths: ["a", "b"],
  },
  {
    name: "packed_aligned",
    attrs: "__attribute__((packed, aligned(4)))",
    c: "{ u8 a; u32 b; }",
    layout: struct({ a: u8, b: u32 }, { packed: true, align: 4 }),
    paths: ["a", "b"],
  },
  {
    name: "arr_of_structs",
    c: "{ struct { u32 a; u8 b; } items[3]; u8 n; }",
    layout: struct({ items: array(Pair, 3), n: u8 }),
    paths: ["items", "items[1]", "items[2].b", "n"],
  },
  {
    name: "bools_signed",
    c: "{ bool a; i64 b; i8 c; i16 d; i32 e; bool f; }",
    layout: struct({ a: bool, b: i64, c: i8, d: i16, e: i32, f: bool }),
    paths: ["a", "b", "c", "d", "e", "f"],
  },
  {
    name: "explicit_pad",
    c: "{ u8 a; u8 _pad[3]; u32 b; u64 c[2]; char name[5]; }",
    layout: struct({ a: u8, _pad: padding(3), b: u32, c: array(u64, 2), name: cstring(5) }),
    paths: ["a", "_pad", "b", "c", "c[1]", "name"],
  },
  {
    name: "packed_inner",
    c: "{ u8 a; struct __attribute__((packed)) { u8 x; u32 y; } p; u32 b; struct __attribute__((aligned(8))) { u8 q; } r; u8 t; }",
    layout: struct({
      a: u8,
      p: struct({ x: u8, y: u32 }, { packed: true }),
      b: u32,
      r: struct({ q: u8 }, { align: 8 }),
      t: u8,
    }),
    paths: ["a", "p", "p.y", "b", "r", "t"],
  },
  {
    name: "matrix",
    c: "{ u16 m[2][3]; u8 x; u64 big; struct { u8 c; } tiny[3]; }",
    layout: struct({ m: array(array(u16, 3), 2), x: u8, big: u64, tiny: array(struct({ c: u8 }), 3) }),
    paths: ["m", "m[1]", "m[1][2]", "x", "big", "tiny[2]"],
  },
  {
    name: "unions_attrs",
    c:
      "{ u8 a; union __attribute__((packed)) { u64 w; u8 b[9]; } pu; union __attribute__((aligned(16))) { u32 v; } au; " +
      "union { u16 h; struct { u8 lo; u8 hi; } s; u64 q; } mu; }",
    layout: struct({
      a: u8,
      pu: union({ w: u64, b: bytes(9) }, { packed: true }),
      au: union({ v: u32 }, { align: 16 }),
      mu: union({ h: u16, s: struct({ lo: u8, hi: u8 }), q: u64 }),
    }),
    paths: ["a", "pu", "pu.b", "au", "au.v", "mu", "mu.s.hi"],
  },
];

/** Our offset and size of a member designator (through the public memberOf). */
function ours(layout: AnyLayout, path: string): { offset: number; size: number } {
  const m = memberOf(layout, path);
  return { offset: m.offset, size: m.layout.size };
}

const PRELUDE = `#include <stdio.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t i8; typedef int16_t i16; typedef int32_t i32; typedef int64_t i64;
`;

function cProgram(): string {
  let src = PRELUDE;
  for (const k of cases) src += `struct ${k.attrs ?? ""} ${k.name} ${k.c};\n`;
  // describe() output must itself be valid C with the same layout.
  for (const k of cases) src += `typedef ${describeLayout(k.layout)} d_${k.name};\n`;
  src += "int main(void) {\n";
  for (const k of cases) {
    src += `  printf("${k.name} sizeof %zu %zu\\n", sizeof(struct ${k.name}), (size_t)_Alignof(struct ${k.name}));\n`;
    src += `  printf("${k.name} describe %zu %zu\\n", sizeof(d_${k.name}), (size_t)_Alignof(d_${k.name}));\n`;
    for (const p of k.paths) {
      src +=
        `  printf("${k.name} ${p} %zu %zu\\n", offsetof(struct ${k.name}, ${p}), ` +
        `sizeof(((struct ${k.name} *)0)->${p}));\n`;
    }
  }
  return src + "  return 0;\n}\n";
}

/** Compiles (or reuses the cached binary of) the C program and returns its output lines as a map. */
function gccFacts(): Map<string, [number, number]> {
  const src = cProgram();
  const hash = createHash("sha256").update(src).digest("hex").slice(0, 16);
  const dir = join(root, ".cache", "types-gcc");
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, `layouts-${hash}`);
  if (!existsSync(exe)) {
    const cFile = join(dir, `layouts-${hash}.c`);
    writeFileSync(cFile, src);
    execFileSync("gcc", ["-std=gnu11", "-Wall", "-Werror", "-o", exe, cFile], { stdio: "pipe" });
  }
  const facts = new Map<string, [number, number]>();
  for (const line of execFileSync(exe, { encoding: "utf8" }).trim().split("\n")) {
    const [name, what, a, b] = line.split(" ");
    facts.set(`${name} ${what}`, [Number(a), Number(b)]);
  }
  return facts;
}

test("types: sizeof/_Alignof/offsetof match gcc for every case", { skip: !hasGcc && "gcc not installed" }, () => {
  const facts = gccFacts();
  let compared = 0;
  for (const k of cases) {
    assert.deepEqual([k.layout.size, k.layout.align], facts.get(`${k.name} sizeof`), `${k.name}: sizeof/_Alignof`);
    for (const p of k.paths) {
      const { offset, size } = ours(k.layout, p);
      assert.deepEqual([offset, size], facts.get(`${k.name} ${p}`), `${k.name}.${p}: offsetof/sizeof`);
      compared++;
    }
  }
  assert.ok(compared >= 50, `compared ${compared} members`);
});

test("types: describe() output compiles with gcc to the same size and alignment", { skip: !hasGcc && "gcc not installed" }, () => {
  const facts = gccFacts();
  for (const k of cases) {
    assert.deepEqual([k.layout.size, k.layout.align], facts.get(`${k.name} describe`), describeLayout(k.layout));
  }
});

test("types: known sizes (independent of gcc)", () => {
  const byName = new Map(cases.map((k) => [k.name, k.layout]));
  assert.equal(byName.get("exec_event")!.size, 24);
  assert.equal(byName.get("mixed")!.size, 24);
  assert.equal(byName.get("packed")!.size, 11);
  assert.equal(byName.get("packed")!.align, 1);
  assert.equal(byName.get("aligned16")!.size, 16);
  assert.equal(byName.get("packed_aligned")!.size, 8);
});
