// Semantic tests of the compiler's control flow and data: bounded loops with break/continue, for...of,
// inlined (nested) user functions, switch/ternary/??, struct literals, nested fields, arrays and copies.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Collection } from "../../src/runtime/collection.js";
import { loadFixture, prng, readU64s } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";

interface Pkt { x: number; y: number; n: number; k: number; sel: number; arr: number[] }

function encode(p: Pkt): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, p.x, true);
  dv.setUint32(4, p.y, true);
  b[8] = p.n;
  b[9] = p.k;
  dv.setUint16(10, p.sel, true);
  p.arr.forEach((v, i) => dv.setUint32(12 + 4 * i, v, true));
  return b;
}

const u32 = (x: number): number => x >>> 0;
const imul = (a: number, b: number): number => Math.imul(a, b) >>> 0;

/** Reference results of the `loops` program. */
function loopsModel(p: Pkt): bigint[] {
  const a = p.arr;
  const sum = a.reduce((s, v) => s + BigInt(v), 0n);
  let firstN = 0;
  for (let i = 0; i < 8 && i < p.n; i++) firstN = u32(firstN + a[i]!);
  const odd = a.filter((v) => v & 1).reduce((s, v) => u32(s + v), 0);
  let inv = 0;
  for (let i = 0; i < 8; i++) for (let j = i + 1; j < 8; j++) if (a[i]! > a[j]!) inv++;
  let down = 0;
  for (let i = 7; i >= 0; i -= 2) down = u32(imul(down, 31) + a[i]!);
  let big = 0;
  for (const e of a) {
    if (e === p.x) break;
    if (e < 1000) continue;
    big++;
  }
  const above = a.findIndex((v) => v > p.y);
  return [sum, BigInt(firstN), BigInt(odd), BigInt(inv), BigInt(down), BigInt(big), BigInt(above < 0 ? 99 : above)];
}

const classify = (x: number): number => [10, 20, 20, (x + 1) & 0xff, 30][x % 5]!;

/** Reference results of the `calls` program (and its verdict); `seen` models the hash map. */
function callsModel(p: Pkt, seen: Map<number, bigint>): { v: bigint[]; ret: number } {
  const sq = (x: number): number => imul(x, x);
  const clamp = Math.min(Math.max(p.x | 0, -100), 1000);
  let t = 0;
  if (p.sel === 0) t = 100;
  else if (p.sel === 1) t = 205;
  else if (p.sel === 2) t = 5;
  else t = p.x & 0xf;
  const hit = seen.get(p.x) ?? 77n;
  seen.set(p.x, BigInt(p.y));
  const v = [
    BigInt(sq(p.x)), BigInt(u32(sq(p.x) + sq(p.y))), BigInt.asUintN(64, BigInt(clamp)), BigInt(classify(p.x)),
    BigInt(Math.max(p.x, p.y)), BigInt(Math.max(sq(p.n), classify(p.y))),
    BigInt(p.sel === 1 ? p.x : p.sel === 2 ? p.y : 7), BigInt(t), hit, BigInt(p.y) + 1n,
    p.x !== 0 && p.y !== 0 ? 1n : 0n, p.x === 0 || p.y === 0 ? 1n : 0n, p.x > p.y ? 0n : 1n,
  ];
  return { v, ret: classify(p.y) === 30 ? 1 : 2 };
}

function structsModel(p: Pkt): bigint[] {
  const B = BigInt;
  const tag = [p.sel, 5, 6];
  const v0 = B(p.x) + 1000n, v1 = 2n + B(p.y) * 1000n, v2 = B(tag[0]!) + 50n + 600n;
  tag[1] = p.x & 0xffff;
  let acc = 0;
  for (const t of tag) acc = u32(imul(acc, 7) + t);
  return [v0, v1, v2, B(p.k), B(p.x), 12345n, B(p.y), B(p.x & 0xffff), B(acc), 1n + B(p.x) * 1000n];
}

function packets(): Pkt[] {
  const next = prng(0xc0ffee);
  const out: Pkt[] = [];
  const pick = (): number => [0, 1, 2, 999, 1000, 1001, 0xffffffff, 0x80000000, 7, 65535, 65536][next() % 11]!;
  for (let i = 0; i < 200; i++) {
    const rnd = i % 3 === 0;
    const arr = Array.from({ length: 8 }, () => (rnd ? next() : pick()));
    const x = i % 5 === 0 ? arr[next() % 8]! : rnd ? next() : pick();
    out.push({ x, y: rnd ? next() : pick(), n: next() % 10, k: next() & 0xff, sel: next() % 4, arr });
  }
  out.push({ x: 0, y: 0, n: 0, k: 0, sel: 0, arr: [0, 0, 0, 0, 0, 0, 0, 0] });
  out.push({ x: 1, y: 0xffffffff, n: 8, k: 255, sel: 3, arr: [8, 7, 6, 5, 4, 3, 2, 1] });
  return out;
}

describe("compiler semantics: control flow, functions, structs", privileged(), () => {
  let coll: Collection;
  before(() => {
    coll = loadFixture("control.bpf.ts");
  });
  after(() => coll?.close());

  test("bounded loops, break/continue, nested loops, for...of over arrays", () => {
    for (const p of packets()) {
      assert.equal(coll.program("loops").testRun({ data: encode(p) }).retval, 2);
      assert.deepEqual(readU64s(coll, "out", 0).slice(0, 7), loopsModel(p), JSON.stringify(p));
    }
  });

  test("inlined nested functions, switch with fallthrough, ternaries, ?? on lookups, && || !", () => {
    const seen = new Map<number, bigint>();
    for (const p of packets()) {
      const { retval } = coll.program("calls").testRun({ data: encode(p) });
      const want = callsModel(p, seen);
      assert.equal(retval, want.ret, JSON.stringify(p));
      assert.deepEqual(readU64s(coll, "out", 1).slice(0, 13), want.v, JSON.stringify(p));
    }
  });

  test("struct literals, nested fields, array fields, struct copies are values", () => {
    for (const p of packets()) {
      assert.equal(coll.program("structs").testRun({ data: encode(p) }).retval, 2);
      assert.deepEqual(readU64s(coll, "out", 2).slice(0, 10), structsModel(p), JSON.stringify(p));
    }
  });

  test("short packets are rejected by the bounds-checked load", () => {
    for (const name of ["loops", "calls", "structs"]) {
      assert.equal(coll.program(name).testRun({ data: new Uint8Array(20) }).retval, 0);
    }
  });
});
