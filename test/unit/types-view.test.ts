// Zero-copy views of tsbpf/types: getters read the live bytes, setters write through (atomically for
// aggregates), nested struct/array/union views, bytes as live Uint8Arrays, scalar boxes, bounds.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  array,
  bool,
  bytes,
  cstring,
  i64,
  LayoutError,
  LayoutErrorCode,
  padding,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
} from "../../src/types/index.js";

const Point = struct({ x: u16, y: u16 });
const Rec = struct(
  {
    id: u32,
    _pad: padding(4),
    t: u64,
    delta: i64,
    on: bool,
    comm: cstring(8),
    raw: bytes(4),
    at: Point,
    path: array(Point, 3),
    counts: array(u32, 4),
    u: union({ w: u32, b: bytes(4) }),
  },
  { name: "rec" },
);

function fresh(): { buf: ArrayBuffer; bytesView: Uint8Array } {
  const buf = new ArrayBuffer(Rec.size + 16);
  const bytesView = new Uint8Array(buf);
  Rec.encode(
    Rec.from({ id: 7, t: 2n ** 60n, delta: -3, on: true, comm: "bash", raw: [1, 2, 3, 4], at: { x: 1, y: 2 }, counts: [1, 2, 3, 4] }),
    bytesView,
    16,
  );
  return { buf, bytesView };
}

test("types view: getters read the underlying bytes, live", () => {
  const { buf, bytesView } = fresh();
  const v = Rec.view(buf, 16);
  assert.equal(v.id, 7);
  assert.equal(v.t, 2n ** 60n);
  assert.equal(v.delta, -3n);
  assert.equal(v.on, true);
  assert.equal(v.comm, "bash");
  assert.deepEqual([...v.raw], [1, 2, 3, 4]);
  assert.equal(v.at.y, 2);
  assert.equal(v.counts[3], 4);
  // Change the bytes underneath: the view sees it (no copy was taken).
  Rec.encode({ ...Rec.decode(bytesView, 16), id: 99 }, bytesView, 16);
  assert.equal(v.id, 99);
  assert.equal("_pad" in v, false);
});

test("types view: setters write through to the buffer", () => {
  const { buf, bytesView } = fresh();
  const v = Rec.view(bytesView, 16);
  v.id = 123;
  (v as { t: unknown }).t = 5; // a safe-integer number is accepted for u64 at runtime (the view type says bigint)
  v.delta = -(2n ** 63n);
  v.on = false;
  v.comm = "zsh";
  v.at.x = 9;
  v.path[2].y = 77;
  v.counts[1] = 4294967295;
  v.u.w = 0x01020304;
  const d = Rec.decode(new Uint8Array(buf), 16);
  assert.equal(d.id, 123);
  assert.equal(d.t, 5n);
  assert.equal(d.delta, -(2n ** 63n));
  assert.equal(d.on, false);
  assert.equal(d.comm, "zsh");
  assert.deepEqual(d.at, { x: 9, y: 2 });
  assert.deepEqual(d.path[2], { x: 0, y: 77 });
  assert.deepEqual(d.counts, [1, 4294967295, 3, 4]);
  assert.deepEqual([...d.u.b], [4, 3, 2, 1]);
  assert.equal(v.u.b[0], 4, "union members alias the same bytes");
});

test("types view: bytes fields are live Uint8Arrays onto the buffer", () => {
  const { bytesView } = fresh();
  const v = Rec.view(bytesView, 16);
  const raw = v.raw;
  raw[0] = 200;
  assert.equal(Rec.decode(bytesView, 16).raw[0], 200);
  assert.equal(raw.buffer, bytesView.buffer);
  v.raw = new Uint8Array([9, 8, 7, 6]);
  assert.deepEqual([...raw], [9, 8, 7, 6]);
});

test("types view: whole-aggregate assignment, atomic on error", () => {
  const { bytesView } = fresh();
  const v = Rec.view(bytesView, 16);
  v.at = { x: 5, y: 6 };
  assert.deepEqual(Rec.decode(bytesView, 16).at, { x: 5, y: 6 });
  const before = bytesView.slice();
  assert.throws(() => {
    v.at = { x: 1, y: 70000 };
  }, (e: unknown) => e instanceof LayoutError && e.code === LayoutErrorCode.Range && e.message.includes("rec.at.y"));
  assert.throws(() => {
    v.path = [{ x: 1, y: 1 }] as never;
  }, LayoutError);
  assert.throws(() => {
    v.id = -1;
  }, /set struct rec: rec\.id: -1 is out of range for u32/);
  assert.deepEqual(bytesView, before, "rejected writes leave the bytes untouched");
});

test("types view: array views (index, get/set, iteration, bounds)", () => {
  const { bytesView } = fresh();
  const v = Rec.view(bytesView, 16);
  const counts = v.counts;
  assert.equal(counts.length, 4);
  assert.deepEqual([...counts], [1, 2, 3, 4]);
  assert.deepEqual(counts.toArray(), [1, 2, 3, 4]);
  counts.set(0, 10);
  assert.equal(counts.get(0), 10);
  assert.equal(counts[0], 10);
  assert.throws(() => counts.get(4), (e: unknown) => e instanceof LayoutError && /index 4 is out of bounds/.test(e.message));
  assert.throws(() => counts.set(-1, 0), LayoutError);
  assert.equal(counts[4], undefined);
  const points = v.path;
  points[1].x = 3;
  assert.deepEqual([...points].map((p) => p.x), [0, 3, 0]);
});

test("types view: scalar and cstring layouts view as { value } boxes", () => {
  const buf = new Uint8Array(16);
  const box = u64.view(buf, 8);
  box.value = 2n ** 64n - 1n;
  assert.equal(u64.decode(buf, 8), 2n ** 64n - 1n);
  assert.equal(box.value, 2n ** 64n - 1n);
  const s = cstring(8).view(buf);
  s.value = "hi";
  assert.equal(s.value, "hi");
  assert.throws(() => {
    s.value = "too long!";
  }, LayoutError);
  const b = bytes(4).view(buf, 4);
  assert.ok(b instanceof Uint8Array && b.byteOffset === 4 && b.length === 4);
});

test("types view: large arrays (Proxy-backed) and SharedArrayBuffer", () => {
  const Big = array(u16, 5000);
  const sab = new SharedArrayBuffer(Big.size);
  const v = Big.view(sab);
  v[4999] = 65535;
  v.set(1, 2);
  assert.equal(v[4999], 65535);
  assert.equal(v.get(1), 2);
  assert.equal(v.length, 5000);
  assert.equal(u16.decode(new Uint8Array(sab), 4999 * 2), 65535);
  assert.throws(() => {
    v[5000] = 1;
  }, LayoutError);
});

test("types view: views over a ring-buffer-like region at many offsets", () => {
  const Ev = struct({ pid: u32, comm: cstring(12) });
  const region = new Uint8Array(Ev.size * 100);
  for (let i = 0; i < 100; i++) Ev.encode({ pid: i, comm: `p${i}` }, region, i * Ev.size);
  let sum = 0;
  for (let i = 0; i < 100; i++) {
    const v = Ev.view(region, i * Ev.size);
    sum += v.pid;
    assert.equal(v.comm, `p${i}`);
  }
  assert.equal(sum, 4950);
  const u = union({ a: u8, b: u32 }).view(region, 0);
  assert.equal(u.b, 0);
});

test("types view: views are not extensible (a mistyped member fails loudly)", () => {
  const v = Point.view(new Uint8Array(4));
  assert.ok(!Object.isExtensible(v));
  assert.throws(() => {
    (v as unknown as Record<string, number>).z = 1;
  });
  assert.deepEqual(Object.keys(Object.getPrototypeOf(v)), ["x", "y"]);
});

test("types view: a view can be encoded elsewhere (copying a record out of live memory)", () => {
  const { bytesView } = fresh();
  const v = Rec.view(bytesView, 16);
  const copy = Rec.encode(v as never);
  assert.deepEqual(Rec.decode(copy), Rec.decode(bytesView, 16));
  assert.deepEqual(Rec.fields.counts.layout.encode(v.counts as never), Rec.fields.counts.layout.encode([1, 2, 3, 4]));
});
