// Semantic tests of the compiler's integer operators: every operator at every width and signedness
// (and mixed pairs) compiled, run in the kernel over generated edge-case inputs, checked against a model.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { array, struct, u64 as U64, u8 as U8, type AnyLayout } from "../../src/types/index.js";
import * as layouts from "../../src/types/index.js";
import type { Collection } from "../../src/runtime/collection.js";
import {
  binop, compare, edgeValues, INT_TYPES, loadSource, prng, promote, randomValue, readU64s, toU64, wrap,
  type BinOp, type CmpOp, type IntType,
} from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";

/** One computed result: TypeScript statements storing it in r.v[i], and the model's value. */
interface Case {
  readonly code: (i: number) => string;
  readonly expect: (a: bigint, b: bigint, s: bigint) => bigint;
  readonly what: string;
}

const isBig = (t: IntType): boolean => t.bits === 64;
const lit = (t: IntType, v: number): string => (isBig(t) ? `${v}n` : `${v}`);
const litType = (t: IntType): IntType => INT_TYPES.find((x) => x.name === (isBig(t) ? "i64" : "i32"))!;

/** Every case for a pair of operand types (a: A, b: B, shift amount s: promoted width of A). */
function cases(A: IntType, B: IntType): Case[] {
  const out: Case[] = [];
  const store = (what: string, expr: string, expect: Case["expect"]): void => {
    out.push({ what, code: (i) => `r.v[${i}] = u64(${expr});`, expect });
  };
  const ops: BinOp[] = ["+", "-", "*", "/", "%", "&", "|", "^"];
  for (const op of ops) store(`a ${op} b`, `a ${op} b`, (a, b) => toU64(binop(op, a, A, b, B).value));
  const shifts: BinOp[] = isBig(A) ? ["<<", ">>"] : ["<<", ">>", ">>>"];
  for (const op of shifts) store(`a ${op} s`, `a ${op} s`, (a, _b, s) => toU64(binop(op, a, A, s, A).value));
  // Literal operands take the other operand's promoted type and must be one of its values
  // (docs/language.md: -3 next to a u32 is a compile error, tested in test/unit/compiler-typing-rules).
  const L = litType(A);
  const P = promote(A);
  const lits: [BinOp, number, boolean][] = [["+", 1, false], ["-", 1, false], ["*", 3, false], ["/", 3, false], ["%", 5, false], ["/", -3, false], ["-", 1000, true], ["^", 0x55, false], ["&", 0xff, false], [">>", 3, false], ["<<", 4, false]];
  for (const [op, v, left] of lits) {
    if (wrap(BigInt(v), P) !== BigInt(v)) continue;
    if (left) store(`${v} ${op} a`, `${lit(A, v)} ${op} a`, (a) => toU64(binop(op, BigInt(v), L, a, A).value));
    else store(`a ${op} ${v}`, `a ${op} ${lit(A, v)}`, (a) => toU64(binop(op, a, A, BigInt(v), L).value));
  }
  const cmps: CmpOp[] = ["<", "<=", ">", ">=", "===", "!=="];
  for (const op of cmps) store(`a ${op} b`, `a ${op} b`, (a, b) => (compare(op, a, A, b, B) ? 1n : 0n));
  for (const op of cmps) store(`a ${op} 0`, `a ${op} ${lit(A, 0)}`, (a) => (compare(op, a, A, 0n, L) ? 1n : 0n));
  const PA = binop("+", 0n, A, 0n, A).type; // promoted A
  store("-a", "-a", (a) => toU64(wrap(-wrap(a, PA), PA)));
  store("~a", "~a", (a) => toU64(wrap(~wrap(a, PA), PA)));
  store("!a", "!a", (a) => (a === 0n ? 1n : 0n));
  store("a > b ? a : b", "a > b ? a : b", (a, b) => toU64(wrap(compare(">", a, A, b, B) ? a : b, binop("+", 0n, A, 0n, B).type)));
  // Compound assignment truncates to the variable's type.
  for (const op of ops) {
    out.push({ what: `x ${op}= b`, code: (i) => `{ let x: ${A.name} = a; x ${op}= b; r.v[${i}] = u64(x); }`, expect: (a, b) => toU64(wrap(binop(op, a, A, b, B).value, A)) });
  }
  for (const op of shifts) {
    out.push({ what: `x ${op}= s`, code: (i) => `{ let x: ${A.name} = a; x ${op}= s; r.v[${i}] = u64(x); }`, expect: (a, _b, s) => toU64(wrap(binop(op, a, A, s, A).value, A)) });
  }
  // ++ / -- (prefix and postfix): the value of the expression and the variable afterwards.
  for (const [form, delta, post] of [["x++", 1n, true], ["++x", 1n, false], ["x--", -1n, true], ["--x", -1n, false]] as const) {
    out.push({ what: `${form} value`, code: (i) => `{ let x: ${A.name} = a; const o: ${A.name} = ${form}; r.v[${i}] = u64(o); }`, expect: (a) => toU64(post ? a : wrap(a + delta, A)) });
    out.push({ what: `${form} after`, code: (i) => `{ let x: ${A.name} = a; ${form}; r.v[${i}] = u64(x); }`, expect: (a) => toU64(wrap(a + delta, A)) });
  }
  // Conversions of a to every type, and assignment of b to a variable of A's type.
  for (const t of INT_TYPES) store(`${t.name}(a)`, `${t.name}(a)`, (a) => toU64(wrap(a, t)));
  out.push({ what: "const c: A = b", code: (i) => `{ const c: ${A.name} = b; r.v[${i}] = u64(c); }`, expect: (_a, b) => toU64(wrap(b, A)) });
  return out;
}

const PAIRS: [IntType, IntType][] = [];
for (const A of INT_TYPES) for (const B of INT_TYPES) if (isBig(A) === isBig(B)) PAIRS.push([A, B]);

const progName = (A: IntType, B: IntType): string => `ops_${A.name}_${B.name}`;
const inLayout = (A: IntType, B: IntType): AnyLayout => {
  const l = layouts as unknown as Record<string, AnyLayout>;
  return struct({ a: l[A.name]!, b: l[B.name]!, s: isBig(A) ? U64 : U8 }) as unknown as AnyLayout;
};

function source(): string {
  const lines = [
    `import { xdp, ArrayMap, XdpAction, struct, array, u8, u16, u32, u64, i8, i16, i32, i64 } from "tsbpf/kernel";`,
    `const Out = struct({ v: array(u64, 96) });`,
    `const res = new ArrayMap({ maxEntries: ${PAIRS.length}, value: Out });`,
  ];
  PAIRS.forEach(([A, B], k) => {
    const S = isBig(A) ? "u64" : "u8";
    lines.push(`const In_${k} = struct({ a: ${A.name}, b: ${B.name}, s: ${S} });`);
    lines.push(`export const ${progName(A, B)} = xdp((ctx) => {`);
    lines.push(`  const p = ctx.load(In_${k}, 0);`, `  if (p === null) return XdpAction.ABORTED;`);
    lines.push(`  const r = res.lookup(${k});`, `  if (r === null) return XdpAction.ABORTED;`);
    lines.push(`  const a: ${A.name} = p.a;`, `  const b: ${B.name} = p.b;`, `  const s: ${S} = p.s;`);
    cases(A, B).forEach((c, i) => lines.push(`  ${c.code(i)}`));
    lines.push(`  return XdpAction.PASS;`, `});`);
  });
  return lines.join("\n") + "\n";
}

/** The generated inputs for a pair: edge values crossed, plus random ones; shift amounts cycle. */
function inputs(A: IntType, B: IntType): [bigint, bigint, bigint][] {
  const next = prng(A.bits * 131 + B.bits * 7 + (A.signed ? 1 : 0) + (B.signed ? 2 : 0));
  const width = BigInt(A.bits === 64 ? 64 : 32);
  const shiftAt = (i: number): bigint => [0n, 1n, width - 1n, 7n, 8n, 16n, width / 2n + 3n, BigInt(next()) % width][i % 8]!;
  const out: [bigint, bigint, bigint][] = [];
  const ea = edgeValues(A), eb = edgeValues(B);
  let i = 0;
  for (const a of ea) for (const b of eb) out.push([a, b, shiftAt(i++)]);
  for (let k = 0; k < 40; k++) out.push([randomValue(A, next), randomValue(B, next), shiftAt(i++)]);
  return out;
}

function runAll(coll: Collection, cpu: string): void {
  const failures: string[] = [];
  let checked = 0;
  PAIRS.forEach(([A, B], k) => {
    const prog = coll.program(progName(A, B));
    const layout = inLayout(A, B) as unknown as { encode(v: object): Uint8Array; size: number };
    const cs = cases(A, B);
    for (const [a, b, s] of inputs(A, B)) {
      const enc = (t: IntType, v: bigint): number | bigint => (isBig(t) ? v : Number(v));
      const data = new Uint8Array(Math.max(64, layout.size));
      data.set(layout.encode({ a: enc(A, a), b: enc(B, b), s: isBig(A) ? s : Number(s) }));
      const { retval } = prog.testRun({ data });
      assert.equal(retval, 2, `${progName(A, B)} returned ${retval}`);
      const got = readU64s(coll, "res", k);
      cs.forEach((c, i) => {
        checked++;
        const want = c.expect(a, b, s);
        if (got[i] !== want && failures.length < 30) {
          failures.push(`[${cpu}] a: ${A.name}=${a}, b: ${B.name}=${b}, s=${s}: ${c.what} = ${BigInt.asIntN(64, got[i]!)} (0x${got[i]!.toString(16)}), want ${BigInt.asIntN(64, want)} (0x${want.toString(16)})`);
        }
      });
    }
  });
  assert.ok(checked > 10000, `checked ${checked}`);
  assert.deepEqual(failures, []);
}

describe("compiler semantics: integer operators", privileged(), () => {
  const src = source();
  for (const cpu of ["v3", "v4"] as const) {
    test(`every operator at every width and signedness (${PAIRS.length} type pairs, -mcpu=${cpu})`, () => {
      const coll = loadSource(src, { cpu });
      try {
        runAll(coll, cpu);
      } finally {
        coll.close();
      }
    });
  }
});

void array;
