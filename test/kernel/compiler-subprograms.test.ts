// User functions compiled as bpf-to-bpf subprograms (`@noinline`, or by the size-and-uses rule): the
// same results as the inlined functions on the IR evaluator and the kernel (BPF_PROG_TEST_RUN), one
// function called from two programs, recursion and the combined stack limit refused at compile time.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readCollectionSpec } from "../../src/index.js";
import { kernel } from "../helpers/kernel-snippet.js";
import { privileged } from "../helpers/privileges.js";

/** A module of user functions called by one XDP program; `tag` marks every function. */
function functions(tag: "@noinline" | "@inline"): string {
  return `
const Acc = struct({ sum: u32, max: u32, items: array(u32, 4) });
/** ${tag} */
function mix(x: u32, y: u32): u32 {
  const h: u32 = x * 31 + y;
  if (h > 1000) return h - 1000;
  return h ^ 0x55;
}
/** ${tag} */
function isEven(x: u32): bool {
  return (x & 1) === 0;
}
/** ${tag} */
function add(acc: Infer<typeof Acc>, v: u32): void {
  acc.sum += v;
  if (v > acc.max) acc.max = v;
}
/** ${tag} */
function total(acc: Infer<typeof Acc>): u32 {
  let t: u32 = 0;
  for (let i = 0; i < 4; i++) t += acc.items[i]!;
  return t + acc.sum;
}
/** ${tag} */
function five(a: u32, b: u32, c: u64, d: i32, e: u8): i64 {
  return i64(a) - i64(b) + i64(c) * 2n + i64(d) + i64(e);
}
/** ${tag} */
function outer(x: u32): u32 {
  return mix(x, 3) + (isEven(x) ? 1 : 0);
}
/** ${tag} */
function firstByte(ctx: XdpContext): u32 {
  const b = ctx.load(u8, 14);
  if (b === null) return 0;
  return b;
}
export const p = xdp((ctx) => {
  const acc = Acc.from({ sum: 0, max: 0, items: [1, 2, 3, 4] });
  const n = ctx.len;
  add(acc, mix(n, 9));
  add(acc, firstByte(ctx));
  add(acc, outer(n));
  const r = five(n, 100, 7n, -3, 200);
  const v = total(acc) + u32(r) + acc.max;
  return (isEven(v) ? 2 : 1) + (v & 0x10);
});`;
}

/** An Ethernet-sized frame whose byte 14 is `b`. */
function frame(len: number, b: number): Uint8Array {
  const f = new Uint8Array(len);
  f[12] = 0x08;
  f[14] = b;
  return f;
}

/** The same computation in JavaScript. */
function model(len: number, b: number): number {
  const u = (x: number): number => x >>> 0;
  const mix = (x: number, y: number): number => {
    const h = u(Math.imul(x, 31) + y);
    return h > 1000 ? u(h - 1000) : (h ^ 0x55) >>> 0;
  };
  let sum = 0, max = 0;
  const add = (v: number): void => { sum = u(sum + v); if (v > max) max = v; };
  add(mix(len, 9));
  add(b);
  add(u(mix(len, 3) + (len % 2 === 0 ? 1 : 0)));
  const r = BigInt(len) - 100n + 14n - 3n + 200n;
  const v = u(10 + sum + Number(BigInt.asUintN(32, r)) + max);
  return (v % 2 === 0 ? 2 : 1) + (v & 0x10);
}

const cases = [[64, 0], [64, 7], [65, 255], [120, 3], [1400, 9]] as const;

describe("subprograms", () => {
  test("@noinline functions become static .text functions called with a BPF call; @inline ones leave none", () => {
    const sub = kernel`${functions("@noinline")}`.expectCompiles();
    const names = sub.module!.functions.filter((f) => f.section === ".text").map((f) => f.name).sort();
    assert.deepEqual(names, ["add", "firstByte", "five", "isEven", "mix", "outer", "total"]);
    assert.ok(sub.module!.functions.filter((f) => f.section === ".text").every((f) => !f.global));
    const inl = kernel`${functions("@inline")}`.expectCompiles();
    assert.deepEqual(inl.module!.functions.map((f) => f.name), ["p"]);
  });

  describe("on the kernel", privileged(), () => {
    for (const tag of ["@noinline", "@inline"] as const) {
      test(`${tag}: the results equal a model of the functions`, async () => {
        const prog = kernel`${functions(tag)}`.xdp();
        for (const [len, b] of cases) await prog.expectReturn({ packet: frame(len, b) }, model(len, b));
      });
    }

    test("the linked program carries line info from inside the subprogram", () => {
      const s = kernel`${functions("@noinline")}`;
      const spec = readCollectionSpec(s.expectCompiles().object!);
      const program = spec.programs.get("p")!;
      const lines = new Set(program.metas.map((m) => m.lineInfo?.line.trim()).filter((t) => t));
      assert.equal(program.metas.filter((m) => m.funcTypeId !== undefined).length, 8, "func info for the program and its 7 subprograms");
      assert.ok(lines.has("for (let i = 0; i < 4; i++) t += acc.items[i]!;"), [...lines].join("\n"));
      assert.ok(lines.has("const h: u32 = x * 31 + y;"), [...lines].join("\n"));
    });

    test("one function called from two programs of one kind (one copy) and from another kind (its own copy)", async () => {
      const s = kernel`
/** @noinline */
function score(a: u32, b: u32): u32 {
  let s: u32 = 0;
  for (let i: u32 = 0; i < 8; i++) s += (a >> i) & b;
  return s;
}
export const x1 = xdp((ctx) => (score(ctx.len, 1) > 2 ? XdpAction.PASS : XdpAction.DROP));
export const x2 = xdp((ctx) => (score(ctx.len, 3) > 5 ? XdpAction.PASS : XdpAction.ABORTED));
export const t = tc((ctx) => (score(ctx.len, 1) > 2 ? 2 : 0));`;
      const texts = s.expectCompiles().module!.functions.filter((f) => f.section === ".text").map((f) => f.name).sort();
      assert.deepEqual(texts, ["score", "score_2"]);
      const score = (a: number, b: number): number => { let r = 0; for (let i = 0; i < 8; i++) r += (a >>> i) & b; return r; };
      for (const len of [64, 71, 255]) {
        await s.xdp("x1").expectReturn({ packet: frame(len, 0) }, score(len, 1) > 2 ? 2 : 1);
        await s.xdp("x2").expectReturn({ packet: frame(len, 0) }, score(len, 3) > 5 ? 2 : 0);
        await s.tc("t").expectReturn({ packet: frame(len, 0) }, score(len, 1) > 2 ? 2 : 0);
      }
    });
  });

  test("a recursive subprogram is refused, naming the cycle", () => {
    kernel`
/** @noinline */
function down(n: u32): u32 {
  if (n === 0) return 0;
  return down(n - 1) + 1;
}
export const p = xdp((ctx) => down(ctx.len) > 1 ? XdpAction.PASS : XdpAction.DROP);`.expectDiagnostic("TSBPF1600", "recursive call of down (down → down): eBPF has no recursion", { line: 5 });
    kernel`
/** @noinline */
function ping(n: u32): u32 {
  return n === 0 ? 0 : pong(n - 1);
}
/** @noinline */
function pong(n: u32): u32 {
  return n === 0 ? 1 : ping(n - 1);
}
export const p = xdp((ctx) => ping(ctx.len) > 0 ? XdpAction.PASS : XdpAction.DROP);`.expectDiagnostic("TSBPF1600", "recursive call of ping (ping → pong → ping)", { line: 8 });
  });

  test("a call chain over the kernel's combined 512-byte stack is refused, naming the chain", () => {
    kernel`
const Big = struct({ words: array(u64, 36) });
/** @noinline */
function fill(seed: u64): u64 {
  const b = Big.from({ words: [] });
  for (let i = 0; i < 36; i++) b.words[i] = seed + u64(i);
  let s: u64 = 0n;
  for (let i = 0; i < 36; i++) s += b.words[i]! * b.words[35 - i]!;
  return s;
}
export const p = xdp((ctx) => {
  const a = Big.from({ words: [] });
  for (let i = 0; i < 36; i++) a.words[i] = u64(ctx.len) + u64(i);
  let s = fill(a.words[3]!);
  for (let i = 0; i < 36; i++) s += a.words[i]!;
  return s > 5n ? XdpAction.PASS : XdpAction.DROP;
});`.expectDiagnostic("TSBPF1600", /the call chain p → fill needs \d+ bytes of stack \(p \d+, fill \d+\); the kernel allows 512 bytes over a whole chain/);
  });

  test("@noinline with more than five parameters is refused at the sixth", () => {
    kernel`
/** @noinline */
function six(a: u32, b: u32, c: u32, d: u32, e: u32, f: u32): u32 {
  return a + b + c + d + e + f;
}
export const p = xdp((ctx) => six(1, 2, 3, 4, 5, ctx.len) > 9 ? XdpAction.PASS : XdpAction.DROP);`.expectDiagnostic("TSBPF1600", "six is @noinline and has 6 parameters; a BPF subprogram takes at most 5", { line: 3, column: 54 });
  });
});
