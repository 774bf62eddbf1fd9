// Type-level tests of tsbpf/types: Infer/Input/View mappings, no `any` leaking, and rejected misuse
// (@ts-expect-error). The test runs tsc on this file so `npm test` catches type regressions.

import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import ts from "typescript";
import {
  array,
  bool,
  bytes,
  cstring,
  i16,
  i64,
  padding,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
  type ArrayView,
  type Infer,
  type Input,
  type View,
} from "../../src/types/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type IsAny<T> = 0 extends 1 & T ? true : false;
/** Compile-time assertion: only `true` is accepted. */
function check<T extends true>(): T | undefined {
  return undefined;
}

const ExecEvent = struct({ pid: u32, ppid: u32, comm: bytes(16) });
const Inner = struct({ x: u16, y: u64 });
const Outer = struct(
  {
    tag: u8,
    _pad: padding(1),
    name: cstring(8),
    inner: Inner,
    items: array(Inner, 2),
    grid: array(array(i16, 3), 2),
    flag: bool,
    delta: i64,
    u: union({ a: u32, b: bytes(4) }),
  },
  { name: "outer" },
);

// Decoded types.
check<Equal<Infer<typeof ExecEvent>, { pid: number; ppid: number; comm: Uint8Array }>>();
check<Equal<Infer<typeof u64>, bigint>>();
check<Equal<Infer<typeof u8>, number>>();
check<Equal<Infer<typeof bool>, boolean>>();
check<Equal<Infer<typeof Inner>, { x: number; y: bigint }>>();
check<
  Equal<
    Infer<typeof Outer>,
    {
      tag: number;
      name: string;
      inner: { x: number; y: bigint };
      items: { x: number; y: bigint }[];
      grid: number[][];
      flag: boolean;
      delta: bigint;
      u: { a: number; b: Uint8Array };
    }
  >
>();
check<Equal<IsAny<Infer<typeof Outer>["inner"]>, false>>();
check<Equal<IsAny<Infer<typeof Outer>["u"]["a"]>, false>>();

// Encode inputs: u64/i64 also take numbers, bytes also number[].
check<Equal<Input<typeof u64>, bigint | number>>();
check<Equal<Input<typeof Inner>, { readonly x: number; readonly y: bigint | number }>>();
check<Equal<Input<typeof ExecEvent>["comm"], Uint8Array | readonly number[]>>();

// Views.
check<Equal<View<typeof Inner>, { x: number; y: bigint }>>();
check<Equal<View<typeof Outer>["items"], ArrayView<typeof Inner>>>();
check<Equal<View<typeof Outer>["inner"], View<typeof Inner>>>();
check<Equal<View<typeof ExecEvent>["comm"], Uint8Array>>();
check<Equal<View<typeof u32>, { value: number }>>();

// Misuse is rejected (never called: only the type checker looks at it).
export function misuse(): void {
  // @ts-expect-error -- pid must be a number
  ExecEvent.encode({ pid: "1", ppid: 2, comm: new Uint8Array(16) });
  // @ts-expect-error -- encode requires every field (use from() for partial values)
  ExecEvent.encode({ pid: 1, ppid: 2 });
  // @ts-expect-error -- padding members are not part of the value
  Outer.encode({ ...Outer.zero(), _pad: undefined }).byteLength satisfies number;
  // @ts-expect-error -- u32 decodes to number, not bigint
  const notBig: bigint = u32.decode(new Uint8Array(4));
  void notBig;
  // @ts-expect-error -- a union needs at least one member
  Outer.fields.u.layout.encode({});
  // @ts-expect-error -- from() takes a partial value of the right types
  ExecEvent.from({ pid: 1n });
}

// Things that must type-check.
const fromPartial: { pid: number; ppid: number; comm: Uint8Array } = ExecEvent.from({ pid: 1 });
const u64FromNumber: Uint8Array = u64.encode(5);
const unionOne: Uint8Array = Outer.fields.u.layout.encode({ b: [1, 2, 3, 4] });
const offsetOfInner: number = Outer.fields.inner.offset;
const innerLayoutSize: number = Outer.fields.inner.layout.fields.y.offset;
void [fromPartial, u64FromNumber, unionOne, offsetOfInner, innerLayoutSize];

test("types: this file type-checks under tsc (including every @ts-expect-error)", () => {
  const here = fileURLToPath(import.meta.url);
  const root = join(dirname(here), "..", "..");
  const configPath = join(root, "tsconfig.json");
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram([here], { ...parsed.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => {
    const file = d.file?.fileName ?? "";
    return file === here || file.includes("/src/types/");
  });
  const text = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
  assert.equal(diagnostics.length, 0, text);
});

test("types: runtime values agree with the checked types", () => {
  const v = Outer.zero();
  assert.equal(typeof v.delta, "bigint");
  assert.equal(typeof v.tag, "number");
  assert.ok(v.u.b instanceof Uint8Array);
  assert.equal(Object.hasOwn(v, "_pad"), false);
});
