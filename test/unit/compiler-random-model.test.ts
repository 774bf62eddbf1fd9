// The random-program harness's JavaScript model (test/helpers/compiler-random.ts) against the
// documented examples of docs/language.md (evaluation order, literal typing, `?:`, `>>>`): the model
// is what the compiler is judged by, so it is checked on its own first.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intType, type IntType } from "../helpers/compile-ts.js";
import { generateProgram, model, moduleSource, type Cell, type Env, type Expr, type Fn } from "../helpers/compiler-random.js";

const { typeOf, evalExpr, checkStmt, Reject } = model;
const I32 = intType("i32"), U32 = intType("u32"), I64 = intType("i64"), U64 = intType("u64");
const cell = (name: string, type: IntType): Cell => ({ name, type, where: "local" });
const ref = (c: Cell): Expr => ({ k: "cell", cell: c });
const lit = (v: bigint, big = false): Expr => ({ k: "lit", v, big, hex: false });
const conv = (to: string, e: Expr): Expr => ({ k: "conv", to: intType(to as IntType["name"]), e });

function env(vals: Record<string, bigint>): Env {
  return { cells: new Map(Object.entries(vals)), maps: new Map(), refs: new Map() };
}
function run(e: Expr, vals: Record<string, bigint>): { value: bigint; env: Env } {
  const en = env(vals);
  return { value: evalExpr(e, en, en), env: en };
}
const rejects = (e: Expr): boolean => {
  try {
    typeOf(e);
    return false;
  } catch (err) {
    if (err instanceof Reject) return true;
    throw err;
  }
};

describe("compiler harness model: R1 evaluation order", () => {
  const x = cell("x", I32);
  test("operands are taken when evaluated", () => {
    assert.equal(run({ k: "bin", op: "+", l: ref(x), r: { k: "incdec", cell: x, pre: false, delta: 1n } }, { x: 1n }).value, 2n); // a + a++
    assert.equal(run({ k: "bin", op: "+", l: ref(x), r: { k: "assign", cell: x, op: "=", e: lit(5n) } }, { x: 1n }).value, 6n); // b + (b = 5)
    assert.equal(run({ k: "bin", op: "*", l: ref(x), r: { k: "assign", cell: x, op: "+", e: lit(1n) } }, { x: 1n }).value, 2n); // c * (c += 1)
    assert.equal(run({ k: "bin", op: "-", l: ref(x), r: { k: "incdec", cell: x, pre: true, delta: -1n } }, { x: 1n }).value, 1n); // e - --e
    assert.equal(run({ k: "cmp", op: ">", l: ref(x), r: { k: "incdec", cell: x, pre: false, delta: 1n } }, { x: 1n }).value, 0n); // h > h++
  });
  test("compound assignment reads its target first: f += f++ leaves 2", () => {
    const r = run({ k: "assign", cell: x, op: "+", e: { k: "incdec", cell: x, pre: false, delta: 1n } }, { x: 1n });
    assert.equal(r.env.cells.get("x"), 2n);
  });
  test("arguments left to right: twice(d, d++) passes 1 and 1, d becomes 2", () => {
    const a = cell("p0", I32), b = cell("p1", I32);
    const fn: Fn = { name: "twice", params: [a, b], ret: I32, body: [], result: { k: "bin", op: "+", l: ref(a), r: { k: "bin", op: "*", l: ref(b), r: lit(10n) } } };
    const r = run({ k: "call", fn, args: [ref(x), { k: "incdec", cell: x, pre: false, delta: 1n }] }, { x: 1n });
    assert.equal(r.value, 11n);
    assert.equal(r.env.cells.get("x"), 2n);
  });
});

describe("compiler harness model: R2 literals, R3 ?:, R5 >>>", () => {
  const xi = cell("x", I32), yu = cell("y", U32), zi = cell("z", I64), b8 = cell("b", intType("i8"));
  test("a literal takes its typed partner's promoted type and must fit", () => {
    assert.ok(rejects({ k: "cmp", op: "<", l: ref(xi), r: lit(0x80000000n) }));
    assert.ok(rejects({ k: "cmp", op: "!==", l: ref(yu), r: lit(0x100000000n) }));
    assert.ok(rejects({ k: "cmp", op: "===", l: ref(yu), r: lit(-1n) }));
    assert.ok(rejects({ k: "cmp", op: "<", l: ref(zi), r: lit(0x8000000000000000n, true) }));
    assert.ok(!rejects({ k: "cmp", op: "<", l: ref(b8), r: lit(200n) })); // i8 promotes to i32
    assert.ok(rejects({ k: "bin", op: "<<", l: ref(xi), r: lit(32n) }));
    assert.ok(!rejects({ k: "bin", op: "<<", l: ref(xi), r: lit(31n) }));
  });
  test("declarations range-check exactly; explicit conversions of literals wrap", () => {
    assert.throws(() => checkStmt({ k: "decl", cell: cell("b", intType("i8")), e: lit(182n), annotate: true }), Reject);
    assert.throws(() => checkStmt({ k: "decl", cell: cell("m", U32), e: lit(-1n), annotate: true }), Reject);
    assert.equal(run(conv("u8", lit(300n)), {}).value, 44n);
  });
  test("literal-only subexpressions fold exactly; << and >>> of numbers with int32 semantics", () => {
    assert.deepEqual(typeOf({ k: "bin", op: "+", l: lit(0x7fffffffn), r: lit(1n) }), { lit: 0x80000000n, big: false });
    assert.deepEqual(typeOf({ k: "bin", op: "<<", l: lit(1n), r: lit(31n) }), { lit: -0x80000000n, big: false });
    assert.deepEqual(typeOf({ k: "bin", op: ">>>", l: lit(-1n), r: lit(0n) }), { lit: 0xffffffffn, big: false });
    assert.deepEqual(typeOf({ k: "bin", op: "<<", l: lit(1n, true), r: lit(63n, true) }), { lit: 1n << 63n, big: true });
  });
  test("a literal shifted by a variable takes the first of i32, u32 that holds it", () => {
    assert.equal((typeOf({ k: "bin", op: "<<", l: lit(0x80000000n), r: ref(xi) }) as { t: IntType }).t, U32);
    assert.equal((typeOf({ k: "bin", op: "<<", l: lit(1n), r: ref(xi) }) as { t: IntType }).t, I32);
  });
  test("?: takes the arithmetic type; a literal branch the other's promoted type", () => {
    const c = cell("c", I32), x = cell("x", I32);
    const vals = { c: 7n, x: 1n };
    assert.equal(run({ k: "cond", c: ref(c), a: lit(182n), b: conv("i8", ref(x)) }, vals).value, 182n);
    assert.equal(run({ k: "cond", c: ref(c), a: lit(-1n), b: conv("u16", ref(x)) }, vals).value, -1n);
    assert.equal(run({ k: "cond", c: ref(c), a: lit(300n), b: conv("u8", ref(x)) }, vals).value, 300n);
    assert.ok(rejects({ k: "cond", c: ref(c), a: lit(0x80000000n), b: conv("i32", ref(x)) }));
    assert.equal((typeOf({ k: "cond", c: ref(c), a: conv("u32", ref(x)), b: conv("i8", ref(x)) }) as { t: IntType }).t, U32);
  });
  test(">>> gives u32: u64(x >>> 0) of -1 is 4294967295", () => {
    assert.equal(run(conv("u64", { k: "bin", op: ">>>", l: ref(xi), r: lit(0n) }), { x: -1n }).value, 4294967295n);
  });
});

describe("compiler harness model: R4 map references", () => {
  test("only the reference follows the map; copies keep their value", () => {
    const v: Cell = { name: "v", type: U64, where: "ref" };
    const c: Cell = { name: "c", type: U64, where: "local" };
    const en: Env = { cells: new Map(), maps: new Map([["m:0", 5n]]), refs: new Map([["v", "m:0"]]) };
    model.execStmt({ k: "decl", cell: c, e: ref(v), annotate: false }, en, en, []);
    model.execStmt({ k: "expr", e: { k: "assign", cell: c, op: "+", e: lit(1n, true) } }, en, en, []);
    assert.equal(en.maps.get("m:0"), 5n);
    model.execStmt({ k: "expr", e: { k: "assign", cell: v, op: "+", e: lit(1n, true) } }, en, en, []);
    model.execStmt({ k: "update", map: "m", idx: 0, type: U64, e: lit(9n, true) }, en, en, []);
    assert.equal(en.maps.get("m:0"), 9n);
    assert.equal(en.cells.get("c"), 6n);
  });
});

describe("compiler harness generator", () => {
  test("is deterministic and produces valid and rejected cases of every kind", () => {
    const a = generateProgram(7), b = generateProgram(7);
    assert.equal(moduleSource(a, a.cases).text, moduleSource(b, b.cases).text);
    const kinds = new Set<string>();
    let rejected = 0, valid = 0;
    for (let s = 1; s <= 20; s++) {
      const p = generateProgram(s);
      for (const c of p.cases) {
        if (c.reject) rejected++;
        else valid++;
        for (const w of ["map ref", "map struct", "stack struct", "nested struct", "Big"]) if (c.what.includes(w)) kinds.add(w);
      }
      const text = moduleSource(p, p.cases).text;
      for (const needle of ["++", "--", "+=", "?", ">>>", ".inner = ", "fn0("]) if (text.includes(needle)) kinds.add(needle);
    }
    assert.ok(valid > 100 && rejected > 20, `${valid} valid, ${rejected} rejected`);
    assert.deepEqual([...kinds].sort(), ["++", "+=", "--", ".inner = ", ">>>", "?", "Big", "fn0(", "map ref", "map struct", "nested struct", "stack struct"].sort());
  });
});

void I64;
