// Round trips of tsbpf/types layouts: encode→decode identity for seeded random and edge values, offsets,
// DataView/Uint8Array/subarray sources, zeroed padding, zero() and from().

import { test } from "node:test";
import assert from "node:assert/strict";
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
  padding,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
  type AnyLayout,
} from "../../src/types/index.js";

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INT_EDGES: Record<string, readonly (number | bigint)[]> = {
  u8: [0, 1, 127, 128, 255],
  i8: [0, -1, 127, -128],
  u16: [0, 255, 256, 65535],
  i16: [0, -1, 32767, -32768],
  u32: [0, 1, 2147483648, 4294967295],
  i32: [0, -1, 2147483647, -2147483648],
  u64: [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n],
  i64: [0n, -1n, 2n ** 53n + 1n, -(2n ** 53n + 1n), 2n ** 63n - 1n, -(2n ** 63n)],
};

type Meta = AnyLayout & {
  length?: number;
  element?: AnyLayout;
  fields?: Record<string, { offset: number; layout: AnyLayout }>;
  bits?: number;
  signed?: boolean;
};

const UTF8_SAMPLES = ["é", "漢", "ß", "😀", "a", "Z", "0", "_"];

/** A random decoded-form value for `layout` (edge values with probability 1/3). */
function randomValue(layout: AnyLayout, r: () => number): unknown {
  const m = layout as Meta;
  switch (m.kind) {
    case "u8":
    case "i8":
    case "u16":
    case "i16":
    case "u32":
    case "i32": {
      const edges = INT_EDGES[m.kind];
      if (r() < 1 / 3) return edges[Math.floor(r() * edges.length)];
      const span = 2 ** m.bits!;
      const v = Math.floor(r() * span);
      return m.signed ? v - span / 2 : v;
    }
    case "u64":
    case "i64": {
      const edges = INT_EDGES[m.kind];
      if (r() < 1 / 3) return edges[Math.floor(r() * edges.length)];
      let v = 0n;
      for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(Math.floor(r() * 65536));
      return m.kind === "i64" ? BigInt.asIntN(64, v) : v;
    }
    case "bool":
      return r() < 0.5;
    case "bytes": {
      const out = new Uint8Array(m.length!);
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
      return out;
    }
    case "cstring": {
      let s = "";
      const target = Math.floor(r() * m.length!);
      for (;;) {
        const piece = r() < 0.2 ? UTF8_SAMPLES[Math.floor(r() * UTF8_SAMPLES.length)] : String.fromCharCode(32 + Math.floor(r() * 95));
        if (Buffer.byteLength(s + piece) > Math.min(target, m.length! - 1)) return s;
        s += piece;
      }
    }
    case "array":
      return Array.from({ length: m.length! }, () => randomValue(m.element!, r));
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(m.fields!)) {
        if (f.layout.kind !== "padding") out[name] = randomValue(f.layout, r);
      }
      return out;
    }
    default:
      throw new Error(`no generator for ${m.kind}`);
  }
}

const Inner = struct({ x: u16, y: u64, ok: bool });
const Everything = struct(
  {
    a: u8,
    b: i8,
    c: u16,
    d: i16,
    e: u32,
    f: i32,
    g: u64,
    h: i64,
    flag: bool,
    raw: bytes(5),
    name: cstring(16),
    _gap: padding(3),
    inner: Inner,
    items: array(Inner, 3),
    grid: array(array(i16, 3), 2),
    packed: struct({ p: u8, q: u64, r: u16 }, { packed: true }),
    wide: struct({ z: u8 }, { align: 16 }),
  },
  { name: "everything" },
);

const roundTripLayouts: readonly AnyLayout[] = [u8, i8, u16, i16, u32, i32, u64, i64, bool, bytes(7), cstring(9), array(u32, 5), Inner, Everything];

test("types: encode→decode is the identity for random values (seeded)", () => {
  const r = rng(0x5eed);
  let checked = 0;
  for (const layout of roundTripLayouts) {
    for (let i = 0; i < 300; i++) {
      const v = randomValue(layout, r);
      const encoded = layout.encode(v as never);
      assert.equal(encoded.length, layout.size);
      assert.deepEqual(layout.decode(encoded), v, `${describeLayout(layout)} #${i}`);
      checked++;
    }
  }
  assert.equal(checked, roundTripLayouts.length * 300);
});

test("types: integer edge values round trip exactly", () => {
  const scalars = { u8, i8, u16, i16, u32, i32, u64, i64 } as const;
  for (const [kind, edges] of Object.entries(INT_EDGES)) {
    const layout = scalars[kind as keyof typeof scalars] as AnyLayout;
    for (const v of edges) assert.equal(layout.decode(layout.encode(v as never)), v, `${kind} ${v}`);
  }
});

test("types: u64/i64 accept safe-integer numbers and decode them to bigint", () => {
  for (const v of [0, 1, 2 ** 32, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
    assert.equal(u64.decode(u64.encode(v)), BigInt(v));
    assert.equal(i64.decode(i64.encode(v)), BigInt(v));
    assert.equal(i64.decode(i64.encode(-v)), BigInt(-v));
    assert.deepEqual(u64.encode(v), u64.encode(BigInt(v)));
  }
  assert.equal(i64.decode(i64.encode(Number.MIN_SAFE_INTEGER)), BigInt(Number.MIN_SAFE_INTEGER));
  assert.equal(u64.decode(u64.encode(2n ** 53n + 1n)), 2n ** 53n + 1n);
});

test("types: little-endian (host) byte order", () => {
  assert.deepEqual([...u32.encode(0x01020304)], [4, 3, 2, 1]);
  assert.deepEqual([...u16.encode(0xbeef)], [0xef, 0xbe]);
  assert.deepEqual([...i64.encode(-2)], [0xfe, 255, 255, 255, 255, 255, 255, 255]);
  assert.deepEqual([...u64.encode(2 ** 32 + 1)], [1, 0, 0, 0, 1, 0, 0, 0]);
});

test("types: encode/decode at offsets, into existing targets, from DataView and subarrays", () => {
  const r = rng(7);
  const v = randomValue(Everything, r) as never;
  const big = new Uint8Array(Everything.size * 3 + 5).fill(0xaa);
  const out = Everything.encode(v, big, 5 + Everything.size);
  assert.equal(out, big, "returns the target");
  assert.equal(big[4 + Everything.size], 0xaa, "bytes before are untouched");
  assert.equal(big[5 + 2 * Everything.size], 0xaa, "bytes after are untouched");
  assert.deepEqual(Everything.decode(big, 5 + Everything.size), v);
  const sub = big.subarray(5);
  assert.deepEqual(Everything.decode(sub, Everything.size), v);
  assert.deepEqual(Everything.decode(new DataView(big.buffer, 5), Everything.size), v);
  assert.deepEqual(Everything.decode(new DataView(big.buffer, 5 + Everything.size, Everything.size)), v);
  const fresh = Everything.encode(v, undefined, 3);
  assert.equal(fresh.length, Everything.size + 3);
  assert.deepEqual(Everything.decode(fresh, 3), v);
});

test("types: padding bytes and holes are zeroed when encoding into a dirty buffer", () => {
  const S = struct({ a: u8, b: u64, _pad: padding(2), c: u16, u: union({ small: u8, big: u32 }) });
  // a@0, hole 1..7, b@8, _pad@16..17, c@18, hole 20..23?, u@20 (align 4) size 4 => 24
  assert.equal(S.size, 24);
  const dirty = new Uint8Array(S.size).fill(0xff);
  S.encode({ a: 1, b: 2n, c: 3, u: { small: 4 } }, dirty);
  assert.deepEqual([...dirty], [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0]);
  const clean = S.encode({ a: 1, b: 2n, c: 3, u: { small: 4 } });
  assert.deepEqual(dirty, clean);
});

test("types: zero() is the all-zero value and a fresh object each time", () => {
  const z = Everything.zero();
  assert.deepEqual(Everything.decode(new Uint8Array(Everything.size)), z);
  assert.deepEqual(Everything.encode(z), new Uint8Array(Everything.size));
  z.items[0].x = 5;
  z.raw[0] = 1;
  assert.equal(Everything.zero().items[0].x, 0);
  assert.equal(Everything.zero().raw[0], 0);
  assert.equal(u64.zero(), 0n);
  assert.equal(bool.zero(), false);
  assert.equal(cstring(4).zero(), "");
});

test("types: from() fills zeros, validates and normalizes", () => {
  const v = Everything.from({ a: 7, g: 5, name: "x", items: [{ y: 9 }], inner: { ok: true }, grid: [[1]] });
  const expected = Everything.zero();
  expected.a = 7;
  expected.g = 5n;
  expected.name = "x";
  expected.items[0].y = 9n;
  expected.inner.ok = true;
  expected.grid[0][0] = 1;
  assert.deepEqual(v, expected);
  assert.deepEqual(Everything.from(), Everything.zero());
  assert.deepEqual(Everything.from({}), Everything.zero());
  assert.deepEqual(bytes(4).from([1, 2]), new Uint8Array([1, 2, 0, 0]));
  assert.deepEqual(array(u8, 3).from([9]), [9, 0, 0]);
  assert.equal(u64.from(3), 3n);
});

test("types: unions decode every member from the same bytes and encode the given one", () => {
  const U = union({ word: u32, half: u16, b: bytes(4), s: struct({ lo: u16, hi: u16 }) });
  assert.equal(U.size, 4);
  const enc = U.encode({ word: 0x11223344 });
  assert.deepEqual(U.decode(enc), {
    word: 0x11223344,
    half: 0x3344,
    b: new Uint8Array([0x44, 0x33, 0x22, 0x11]),
    s: { lo: 0x3344, hi: 0x1122 },
  });
  // Encoding a decoded union (all members) reproduces the bytes.
  assert.deepEqual(U.encode(U.decode(enc)), enc);
  // A shorter member leaves the rest zero.
  assert.deepEqual([...U.encode({ half: 0xffff }, new Uint8Array(4).fill(9))], [255, 255, 0, 0]);
});

test("types: cstring decodes up to the first NUL and handles UTF-8", () => {
  const S = cstring(8);
  assert.equal(S.decode(new Uint8Array([104, 105, 0, 120, 120, 0, 0, 0])), "hi");
  assert.equal(S.decode(new Uint8Array([97, 98, 99, 100, 101, 102, 103, 104])), "abcdefgh", "no NUL: all n bytes");
  assert.deepEqual([...S.encode("héllo")], [104, 0xc3, 0xa9, 108, 108, 111, 0, 0]);
  assert.equal(S.decode(S.encode("héllo")), "héllo");
  assert.equal(S.decode(S.encode("😀a")), "😀a");
  assert.equal(S.decode(new Uint8Array([0xff, 0x41, 0, 0, 0, 0, 0, 0])), "\ufffdA");
  assert.equal(S.decode(S.encode("1234567")), "1234567");
});

test("types: decode reads SharedArrayBuffer-backed memory", () => {
  const sab = new SharedArrayBuffer(64);
  const view = new Uint8Array(sab);
  const E = struct({ pid: u32, comm: cstring(8), t: u64 });
  E.encode({ pid: 1, comm: "ñu", t: 2n }, view, 8);
  assert.deepEqual(E.decode(view, 8), { pid: 1, comm: "ñu", t: 2n });
  assert.deepEqual(E.decode(new DataView(sab), 8), { pid: 1, comm: "ñu", t: 2n });
});

test("types: describe renders C-like declarations", () => {
  const ExecEvent = struct({ pid: u32, ppid: u32, comm: bytes(16) });
  assert.equal(describeLayout(ExecEvent), "struct { u32 pid; u32 ppid; u8 comm[16]; }");
  assert.equal(
    describeLayout(struct({ pid: u32, comm: cstring(16) }, { name: "exec_event", packed: true })),
    "struct __attribute__((packed)) exec_event { u32 pid; char comm[16]; }",
  );
  assert.equal(describeLayout(u64), "u64");
  assert.equal(describeLayout(bytes(16)), "u8[16]");
  assert.equal(describeLayout(array(array(u32, 3), 2)), "u32[2][3]");
  assert.equal(describeLayout(union({ a: u8, b: i64 }, { align: 16 })), "union __attribute__((aligned(16))) { u8 a; i64 b; }");
  assert.equal(String(ExecEvent), "struct { u32 pid; u32 ppid; u8 comm[16]; }");
});

test("types: layout metadata for the compiler (kind, size, align, fields, btfName)", () => {
  assert.equal(Everything.kind, "struct");
  assert.equal(Everything.btfName, "everything");
  assert.equal(Inner.btfName, undefined);
  assert.deepEqual(Object.keys(Everything.fields), Object.keys({
    a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0, flag: 0, raw: 0, name: 0, _gap: 0, inner: 0, items: 0, grid: 0, packed: 0, wide: 0,
  }));
  assert.equal(Everything.fields.items.layout.element, Inner);
  assert.equal(Everything.fields.items.layout.length, 3);
  assert.equal(Everything.fields.g.offset % 8, 0);
  assert.equal(Everything.fields.wide.offset % 16, 0);
  assert.equal(Everything.align, 16);
  assert.equal(Everything.size % 16, 0);
  assert.equal(u32.kind, "u32");
  assert.equal(u32.size, 4);
  assert.equal(i16.signed, true);
  assert.equal(u64.bits, 64);
  assert.ok(Object.isFrozen(Everything) && Object.isFrozen(Everything.fields));
});
