// Regression tests for front-end miscompiles found by differential testing (issue 10): each program
// takes its inputs from the packet (so nothing is folded at compile time), runs in the kernel through
// BPF_PROG_TEST_RUN at -mcpu v3 and v4, and stores results that must equal TypeScript's own evaluation
// of the same code (strict left-to-right evaluation, copies of scalars) or the documented typing rules
// (docs/language.md: literals and `?:`).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadSource, readU64s } from "../helpers/compile-ts.js";
import { kernel } from "../helpers/kernel-snippet.js";
import { privileged } from "../helpers/privileges.js";

const HEADER = `const In = struct({ x: i32, one: u32, c: u32, s: u32, m1: i32 });
const Out = struct({ v: array(u64, 32) });
const res = new ArrayMap({ maxEntries: 1, value: Out });
`;

/** Packet: x = 1, one = 1, c = 7, s = 4, m1 = -1. */
function packet(): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, 1, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, 7, true);
  dv.setUint32(12, 4, true);
  dv.setInt32(16, -1, true);
  return b;
}

/**
 * Runs `body` (statements with `p` the input and `r` the output record) on the IR evaluator and in the
 * kernel: both must run to the end (XdpAction.PASS) and leave `want` in r.v's first words.
 */
async function run(extra: string, body: string, cpu: "v3" | "v4", want: readonly bigint[]): Promise<void> {
  await kernel`${HEADER}${extra}
export const prog = xdp((ctx) => {
  const p = ctx.load(In, 0);
  if (p === null) return XdpAction.ABORTED;
  const r = res.lookup(0);
  if (r === null) return XdpAction.ABORTED;
${body}
  return XdpAction.PASS;
});
`.cpu(cpu).xdp().expectReturn({ packet: packet() }, 2).expectMap("res", 0, want);
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

describe("compiler regressions (issue 10)", privileged(), () => {
  for (const cpu of ["v3", "v4"] as const) {
    test(`operands are evaluated left to right, side effects on locals included (-mcpu=${cpu})`, async () => {
      await run(`function twice(a: i32, b: i32): i32 { return a * 10 + b; }
function twice64(a: u64, b: u64): u64 { return a * 10n + b; }
`, `
  let a: i32 = p.x; r.v[0] = u64(a + a++);
  let b: i32 = p.x; r.v[1] = u64(b + (b = 5));
  let c: i32 = p.x; r.v[2] = u64(c * (c += 1));
  let e: i32 = p.x; r.v[3] = u64(e - --e);
  let h: i32 = p.x; r.v[4] = h > h++ ? 1n : 0n;
  let f: i32 = p.x; f += f++; r.v[5] = u64(f);
  let d: i32 = p.x; r.v[6] = u64(twice(d, d++)); r.v[7] = u64(d);
  let g: u64 = u64(p.x); r.v[8] = g + g++;
  let k: u64 = u64(p.x); r.v[9] = k + (k = 5n);
  let l: u64 = u64(p.x); l += l++; r.v[10] = l;
  let n: u64 = u64(p.x); r.v[11] = twice64(n, n++);
  let q: u8 = u8(p.x); r.v[12] = u64(q - q--) + u64(q) * 100n;
  let s: i32 = p.x; r.v[13] = u64((s++) + (s++) * 10 + s * 100);
`, cpu, [2n, 6n, 2n, 1n, 0n, 2n, 11n, 2n, 2n, 6n, 2n, 11n, 0n, 321n]); // what JavaScript gives for the same code with x = 1
    });

    test(`>>> is a logical shift with an unsigned result; a literal's own type is the first of i32, u32 that holds it (-mcpu=${cpu})`, async () => {
      await run("", `
  const x: i32 = p.m1;
  r.v[0] = u64(x >>> 0);
  r.v[1] = u64(x >>> 4);
  const s = p.s;
  r.v[2] = u64(0x80000000 >> s);
  r.v[3] = u64(0x7fffffff >> s);
  r.v[4] = BigInt(0xffffffff);
  r.v[5] = u64(-0x80000000 >> s);
`, cpu, [4294967295n, 0x0fffffffn, 0x08000000n, 0x07ffffffn, 0xffffffffn, u64(-0x08000000n)]);
    });

    test(`?: has the usual arithmetic conversion of both branches (-mcpu=${cpu})`, async () => {
      await run("", `
  const c = p.c;
  const x = p.x;
  r.v[0] = u64(c ? 182 : i8(x));
  r.v[1] = u64(c ? -1 : u16(x));
  r.v[2] = BigInt(c ? u16(x) : 3) < -1n ? 1n : 0n;
  r.v[3] = u64(c ? 300 : u8(x));
  r.v[4] = u64(c !== 7 ? 182 : i8(x));
  r.v[5] = u64(c ? u8(x) : i8(x));
  const w: u32 = c ? 0x80000000 : u32(x);
  r.v[6] = u64(w);
  r.v[7] = u64(c ? 0xffffffff : 0);
`, cpu, [182n, u64(-1n), 0n, 300n, 1n, 1n, 0x80000000n, 0xffffffffn]);
    });

    test(`a scalar read from a map reference into a local is a copy (-mcpu=${cpu})`, async () => {
      await run(`const m = new ArrayMap({ maxEntries: 4, value: u64 });
`, `
  m.update(0, 10n);
  m.update(1, 10n);
  m.update(2, 10n);
  const v = m.lookup(0);
  if (v === null) return XdpAction.ABORTED;
  const a = v;
  m.update(0, 20n);
  r.v[0] = a;
  r.v[1] = v;
  const v1 = m.lookup(1);
  if (v1 === null) return XdpAction.ABORTED;
  let c = v1;
  c += 1n;
  r.v[2] = c;
  const v2 = m.lookup(2);
  if (v2 === null) return XdpAction.ABORTED;
  let d = v2;
  d = 7n;
  r.v[3] = d;
  const after1 = m.lookup(1);
  const after2 = m.lookup(2);
  if (after1 === null || after2 === null) return XdpAction.ABORTED;
  r.v[4] = after1;
  r.v[5] = after2;
`, cpu, [10n, 20n, 11n, 7n, 10n, 10n]);
    });

    test(`constants typed by conversions compare; map references compare by value, read left to right (-mcpu=${cpu})`, async () => {
      await run(`const m = new ArrayMap({ maxEntries: 4, value: u64 });
`, `
  r.v[0] = i32(1) < i32(2) ? 1n : 0n;
  r.v[1] = u8(300) === u8(44) ? 1n : 0n;
  r.v[2] = i8(200) < i8(1) ? 1n : 0n;
  m.update(0, 5n);
  m.update(1, 5n);
  const v = m.lookup(0);
  const w = m.lookup(1);
  if (v === null || w === null) return XdpAction.ABORTED;
  r.v[3] = v === w ? 1n : 0n;
  r.v[4] = v <= w ? 1n : 0n;
  r.v[5] = v === (m.update(0, 6n), w) ? 1n : 0n;
  r.v[6] = v > w ? 1n : 0n;
`, cpu, [1n, 1n, 1n, 1n, 1n, 1n, 1n]);
    });

    test(`a nested member of a struct initialised from a literal is read from memory after it changed (-mcpu=${cpu})`, async () => {
      await run(`const Inner = struct({ f0: i32, f1: i32 });
const Rec = struct({ tag: u32, inner: Inner, tail: i32, arr: array(u32, 2) });
type Rec = Infer<typeof Rec>;
`, `
  const b: Rec = { tag: 0, inner: { f0: 2147483647, f1: 1 }, tail: 0, arr: [7, 8] };
  const c = Rec.zero();
  b.inner = c.inner;
  b.arr[1] = p.one;
  r.v[0] = u64(b.inner.f0);
  r.v[1] = u64(b.inner.f1);
  r.v[2] = u64(b.arr[1]!);
  r.v[3] = u64(b.arr[0]!);
  const tail = p.x;
  const d: Rec = { tag: 3, inner: { f0: 1, f1: 2 }, tail, arr: [0, 0] };
  r.v[4] = u64(d.tail) * 10n + u64(d.inner.f1);
`, cpu, [0n, 0n, 1n, 7n, 12n]); // the shorthand { tail } takes the local's value
    });

    test(`struct copies at 4-byte offsets load and copy the right bytes (-mcpu=${cpu})`, async () => {
      await run(`const Inner = struct({ y: u32, z: u32 });
const Rec = struct({ tag: u32, inner: Inner });
const Tri = struct({ a: u32, b: u32, c: u32 });
const Rec3 = struct({ tag: u32, t: Tri });
const recs = new ArrayMap({ maxEntries: 2, value: Rec });
`, `
  const a = Rec.from({ tag: 1, inner: { y: p.one, z: 2 } });
  r.v[0] = u64(a.tag); r.v[1] = u64(a.inner.y); r.v[2] = u64(a.inner.z);
  const b = Rec.zero();
  b.inner = a.inner;
  r.v[3] = u64(b.inner.y) * 10n + u64(b.inner.z);
  const mv = recs.lookup(0);
  if (mv === null) return XdpAction.ABORTED;
  mv.inner = a.inner;
  const mv1 = recs.lookup(1);
  if (mv1 === null) return XdpAction.ABORTED;
  mv1.inner.y = 30; mv1.inner.z = 40;
  const c = Rec.zero();
  c.inner = mv1.inner;
  r.v[4] = u64(c.inner.y) * 10n + u64(c.inner.z);
  r.v[5] = u64(mv.inner.y) * 10n + u64(mv.inner.z);
  const t = Rec3.from({ tag: 9, t: { a: p.one, b: 2, c: 3 } });
  const t2 = Rec3.zero();
  t2.t = t.t;
  r.v[6] = u64(t2.t.a) * 100n + u64(t2.t.b) * 10n + u64(t2.t.c);
  const e: Infer<typeof Rec3> = { tag: 5, t: t.t };
  r.v[7] = u64(e.tag) * 1000n + u64(e.t.a) * 100n + u64(e.t.b) * 10n + u64(e.t.c);
`, cpu, [1n, 1n, 2n, 12n, 340n, 12n, 123n, 5123n]);
    });

    test(`nested struct literals are built in place: four 104-byte structs fit the stack (-mcpu=${cpu})`, async () => {
      await run(`const Part = struct({ x: u64, y: u64, z: u64, w: u64, p: u64, q: u64 });
const Big = struct({ id: u64, a: Part, b: Part });
const bigs = new ArrayMap({ maxEntries: 4, value: Big });
`, `
  const o = u64(p.one);
  const b0 = Big.from({ id: 1n, a: { x: o, y: 2n, z: 3n, w: 4n, p: 5n, q: 6n }, b: { x: 7n, y: 8n, z: 9n, w: 10n, p: 11n, q: o } });
  const b1 = Big.from({ id: 2n, a: { x: o + 1n, y: 2n, z: 3n, w: 4n, p: 5n, q: 6n }, b: { x: 7n, y: 8n, z: 9n, w: 10n, p: 11n, q: o } });
  const b2 = Big.from({ id: 3n, a: { x: o + 2n, y: 2n, z: 3n, w: 4n, p: 5n, q: 6n }, b: { x: 7n, y: 8n, z: 9n, w: 10n, p: 11n, q: o } });
  const b3 = Big.from({ id: 4n, a: { x: o + 3n, y: 2n, z: 3n, w: 4n, p: 5n, q: 6n }, b: { x: 7n, y: 8n, z: 9n, w: 10n, p: 11n, q: o } });
  bigs.update(0, b0); bigs.update(1, b1); bigs.update(2, b2); bigs.update(3, b3);
  r.v[0] = b0.id + b1.a.x + b2.b.q + b3.a.x * 100n + b3.b.p * 1000n;
`, cpu, [1n + 2n + 1n + 400n + 11000n]);
    });
  }
});

// ctx.load at an offset known only at run time (here a u16, up to 0xffff): the bound the compiler puts on the offset must leave
// room for the header, or the verifier (which stops tracking packet ranges past 0xffff) rejects the read.
test("ctx.load at a run-time packet offset: the header read after the bounds check is accepted", privileged(), () => {
  using coll = loadSource(`import { xdp, ArrayMap, XdpAction, struct, u16, u32, u64 } from "tsbpf/kernel";
const Hdr = struct({ a: u32, b: u32 });
const res = new ArrayMap<u64>({ maxEntries: 1 });
export const prog = xdp((ctx) => {
  const at = ctx.load(u16, 0);
  if (at === null) return XdpAction.ABORTED;
  const h = ctx.load(Hdr, at);
  if (h === null) return XdpAction.DROP;
  res.update(0, BigInt(h.b));
  return XdpAction.PASS;
});
`);
  const pkt = new Uint8Array(32);
  pkt[0] = 5; // a u16 offset: any value up to 0xffff
  new DataView(pkt.buffer).setUint32(9, 0xabcdef, true);
  assert.equal(coll.program("prog").testRun({ data: pkt }).retval, 2);
  assert.deepEqual(readU64s(coll, "res"), [0xabcdefn]);
  pkt[0] = 30;
  assert.equal(coll.program("prog").testRun({ data: pkt }).retval, 1, "past the end: null");
});
