// Error behaviour of tsbpf/types: LayoutError codes, messages naming the field path and the cause,
// range/type checks per width, short buffers, bad definitions. Never a bare RangeError/TypeError.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TsbpfError } from "../../src/errors.js";
import {
  array,
  bool,
  bytes,
  cstring,
  i16,
  i32,
  i64,
  i8,
  LayoutError,
  LayoutErrorCode,
  offsetOf,
  padding,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
  type AnyLayout,
} from "../../src/types/index.js";

/** Asserts `fn` throws a LayoutError with `code`, whose message matches every pattern. */
function throwsLayout(fn: () => unknown, code: string, ...patterns: (RegExp | string)[]): LayoutError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LayoutError, `expected a LayoutError, got ${String(caught)}`);
  assert.ok(caught instanceof TsbpfError);
  assert.equal(caught.code, code, caught.message);
  for (const p of patterns) {
    if (typeof p === "string") assert.ok(caught.message.includes(p), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(p)}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

const ExecEvent = struct({ pid: u32, ppid: u32, comm: bytes(16) }, { name: "ExecEvent" });

test("types errors: 300 into a u8 names the field path", () => {
  const comm = Array.from({ length: 16 }, () => 0);
  comm[3] = 300;
  const e = throwsLayout(
    () => ExecEvent.encode({ pid: 1, ppid: 2, comm }),
    LayoutErrorCode.Range,
    "ExecEvent.comm[3]",
    "300",
    "u8",
    /^encode struct ExecEvent: /,
  );
  assert.equal(e.path, "ExecEvent.comm[3]");
  const Outer = struct({ items: array(struct({ a: u32, b: u8 }), 3) });
  const bad = throwsLayout(
    () => Outer.encode({ items: [{ a: 1, b: 2 }, { a: 1, b: 256 }, { a: 0, b: 0 }] }),
    LayoutErrorCode.Range,
    "items[1].b: 256 is out of range for u8 (0..255)",
  );
  assert.equal(bad.path, "items[1].b");
});

test("types errors: out-of-range values for every width", () => {
  const cases: [AnyLayout, unknown][] = [
    [u8, 256], [u8, -1], [i8, 128], [i8, -129], [u16, 65536], [u16, -1], [i16, 32768], [i16, -32769],
    [u32, 2 ** 32], [u32, -1], [i32, 2 ** 31], [i32, -(2 ** 31) - 1],
    [u64, -1n], [u64, 2n ** 64n], [u64, -1], [i64, 2n ** 63n], [i64, -(2n ** 63n) - 1n],
    [u64, 2 ** 53], [i64, -(2 ** 60)], [u32, 1.5], [u8, NaN], [u16, Infinity], [u64, 0.5], [i64, NaN],
  ];
  for (const [layout, value] of cases) {
    throwsLayout(() => layout.encode(value as never), LayoutErrorCode.Range, `encode ${layout.kind}`);
  }
  throwsLayout(() => u64.encode(2 ** 53), LayoutErrorCode.Range, "not a safe integer", "bigint");
  throwsLayout(() => u32.encode(1.5), LayoutErrorCode.Range, "not an integer");
  throwsLayout(() => i8.encode(200), LayoutErrorCode.Range, "-128..127");
});

test("types errors: wrong JavaScript types", () => {
  const cases: [AnyLayout, unknown][] = [
    [u32, "5"], [u32, 5n], [u8, null], [u64, "1"], [i64, undefined], [bool, 1], [bool, "true"],
    [bytes(2), "ab"], [bytes(2), 7], [cstring(4), 42], [array(u8, 2), "ab"], [ExecEvent, null], [ExecEvent, 5],
    [ExecEvent, []], [union({ a: u8 }), "x"],
  ];
  for (const [layout, value] of cases) throwsLayout(() => layout.encode(value as never), LayoutErrorCode.Type);
  throwsLayout(() => u32.encode("5" as never), LayoutErrorCode.Type, "expected a number for u32, got string");
  throwsLayout(
    () => ExecEvent.encode({ pid: 1, ppid: "2", comm: new Uint8Array(16) } as never),
    LayoutErrorCode.Type,
    "ExecEvent.ppid",
  );
  throwsLayout(() => bytes(3).encode([1, "2", 3] as never), LayoutErrorCode.Type, "[1]");
});

test("types errors: missing fields, wrong lengths, union without member", () => {
  const e = throwsLayout(
    () => ExecEvent.encode({ pid: 1, comm: new Uint8Array(16) } as never),
    LayoutErrorCode.MissingField,
    "ExecEvent.ppid",
    "from()",
  );
  assert.equal(e.path, "ExecEvent.ppid");
  throwsLayout(() => bytes(4).encode(new Uint8Array(3)), LayoutErrorCode.Range, "exactly 4 bytes");
  throwsLayout(() => bytes(4).encode([1, 2, 3, 4, 5]), LayoutErrorCode.Range, "exactly 4 bytes");
  throwsLayout(() => array(u32, 2).encode([1, 2, 3]), LayoutErrorCode.Range, "exactly 2 elements for u32[2]");
  throwsLayout(() => array(u32, 2).from([1, 2, 3]), LayoutErrorCode.Range, /^from u32\[2\]/);
  throwsLayout(() => union({ a: u8, b: u16 }).encode({} as never), LayoutErrorCode.MissingField, "one of the members a, b");
});

test("types errors: cstring too long, NUL inside", () => {
  const S = cstring(4);
  throwsLayout(() => S.encode("abcd"), LayoutErrorCode.Range, "4 bytes in UTF-8", "at most 3");
  throwsLayout(() => S.encode("éé"), LayoutErrorCode.Range, "4 bytes in UTF-8");
  throwsLayout(() => S.encode("a\0b"), LayoutErrorCode.Range, "NUL");
  assert.deepEqual([...S.encode("abc")], [97, 98, 99, 0]);
  const E = struct({ comm: cstring(16) }, { name: "task" });
  throwsLayout(() => E.encode({ comm: "x".repeat(16) }), LayoutErrorCode.Range, "task.comm", "at most 15");
});

test("types errors: buffers too short name needed vs available bytes", () => {
  throwsLayout(() => ExecEvent.decode(new Uint8Array(20)), LayoutErrorCode.BufferTooShort, "need 24 bytes", "have 20");
  throwsLayout(
    () => ExecEvent.decode(new Uint8Array(30), 8),
    LayoutErrorCode.BufferTooShort,
    "need 24 bytes at offset 8 (32 in total), have 30",
  );
  throwsLayout(() => u64.decode(new DataView(new ArrayBuffer(16), 10)), LayoutErrorCode.BufferTooShort, "have 6");
  throwsLayout(() => u32.decode(new Uint8Array(8), -1), LayoutErrorCode.BufferTooShort, "offset -1");
  throwsLayout(() => u32.decode(new Uint8Array(8), 1.5), LayoutErrorCode.BufferTooShort, "offset 1.5");
  throwsLayout(() => ExecEvent.encode(ExecEvent.zero(), new Uint8Array(23)), LayoutErrorCode.BufferTooShort, "encode", "need 24");
  throwsLayout(() => ExecEvent.view(new ArrayBuffer(10)), LayoutErrorCode.BufferTooShort, /^view struct ExecEvent/);
  throwsLayout(() => u32.decode("abcd" as never), LayoutErrorCode.Type, "expected a Uint8Array");
  throwsLayout(() => u32.encode(1, [0, 0, 0, 0] as never), LayoutErrorCode.Type, "target must be a Uint8Array");
});

test("types errors: invalid definitions", () => {
  const D = LayoutErrorCode.Definition;
  throwsLayout(() => bytes(-1), D, "bytes(n)");
  throwsLayout(() => bytes(1.5), D);
  throwsLayout(() => cstring(0), D, "cstring(n)");
  throwsLayout(() => padding(0), D);
  throwsLayout(() => array(u8, -2), D);
  throwsLayout(() => array({} as never, 2), D, "expected a layout");
  throwsLayout(() => array(padding(2), 2), D, "padding");
  throwsLayout(() => struct({ a: 5 } as never), D, 'member "a"');
  throwsLayout(() => struct({ "1": u8 }), D, "not a C identifier");
  throwsLayout(() => struct({ "a-b": u8 }), D, "not a C identifier");
  throwsLayout(() => struct({ ["__proto__"]: u8 }), D, "__proto__");
  throwsLayout(() => struct({ a: u8 }, { align: 3 }), D, "power of two");
  throwsLayout(() => struct({ a: u8 }, { name: "exec event" }), D, "C identifier");
  throwsLayout(() => struct(null as never), D);
  throwsLayout(() => union({}), D, "at least one member");
  throwsLayout(() => union({ a: u8, p: padding(1) }), D, "padding");
});

test("types errors: garbage in never escapes as RangeError/TypeError", () => {
  const layouts: AnyLayout[] = [u8, u64, bool, bytes(3), cstring(3), array(u16, 2), ExecEvent, union({ a: u32, b: bytes(2) })];
  const garbage: unknown[] = [undefined, null, 0, -1, 1e300, NaN, "", "x", 1n, -1n, {}, [], [1], new Uint8Array(1), Symbol("s"), () => 1];
  for (const layout of layouts) {
    for (const g of garbage) {
      try {
        layout.encode(g as never);
      } catch (e) {
        assert.ok(e instanceof LayoutError, `${layout.kind} with ${typeof g}: ${String(e)}`);
      }
      for (const src of [g, new Uint8Array(2)]) {
        try {
          layout.decode(src as never, 0);
        } catch (e) {
          assert.ok(e instanceof LayoutError, `decode ${layout.kind}: ${String(e)}`);
        }
      }
    }
  }
});

test("types errors: buffers detached or resized after use are reported, not crashed on", () => {
  // Resizable ArrayBuffers are ES2024 (the project's lib is ES2023): reach them through a loose constructor type.
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & {
    resize(n: number): void;
  };
  const resizable = new Resizable(16, { maxByteLength: 64 });
  const v = new Uint8Array(resizable);
  assert.equal(u32.decode(v, 12), 0);
  resizable.resize(8);
  throwsLayout(() => u32.decode(v, 12), LayoutErrorCode.BufferTooShort, "detached or resized");
  const plain = new ArrayBuffer(16);
  const w = new Uint8Array(plain);
  assert.equal(u32.decode(w), 0);
  structuredClone(plain, { transfer: [plain] });
  throwsLayout(() => u32.decode(w), LayoutErrorCode.BufferTooShort);
  throwsLayout(() => u32.encode(1, w), LayoutErrorCode.BufferTooShort);
  assert.equal(u32.decode(new Uint8Array(4)), 0, "recovers for the next buffer");
});

test("types errors: offsetOf rejects unknown members and bad indexes", () => {
  const S = struct({ a: u8, items: array(struct({ b: u16 }), 2), name: cstring(4) }, { name: "s" });
  assert.equal(offsetOf(S, "items[1].b"), 4);
  assert.equal(offsetOf(S, "name[3]"), 9);
  throwsLayout(() => offsetOf(S, "nope"), LayoutErrorCode.Definition, 'no member "nope"');
  throwsLayout(() => offsetOf(S, "items[2]"), LayoutErrorCode.Definition, "out of bounds");
  throwsLayout(() => offsetOf(S, "a[0]"), LayoutErrorCode.Definition, "non-array");
  throwsLayout(() => offsetOf(S, "items..b"), LayoutErrorCode.Definition);
  throwsLayout(() => offsetOf(S, ".a"), LayoutErrorCode.Definition);
  throwsLayout(() => offsetOf(S, ""), LayoutErrorCode.Definition);
  throwsLayout(() => offsetOf(S, "toString"), LayoutErrorCode.Definition, "no member");
});
