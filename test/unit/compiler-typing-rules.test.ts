// The typing rules of docs/language.md that refuse a program instead of guessing (issue 10): a constant
// that is not a value of the operation's type, `?:` branches no type holds, out-of-range shift counts
// and initialisers, and writes through a map reference that would silently change the map. Each case
// must fail with its code at the offending expression, and nothing else.

import { test } from "node:test";
import { DiagnosticCode as D } from "../../src/compiler/index.js";
import { kernel, type KernelSnippet } from "../helpers/kernel-snippet.js";

const HEADER = `const In = struct({ x: i32, y: u32, z: i64, c: u32, s: u32 });
const m = new ArrayMap({ maxEntries: 4, value: u64 });
let out: u64 = 0n;
export const prog = xdp((ctx) => {
  const p = ctx.load(In, 0);
  if (p === null) return XdpAction.ABORTED;
  const x = p.x, y = p.y, z = p.z, c = p.c, s = p.s;
`;
/** The line `body` is on. */
const BODY_LINE = HEADER.split("\n").length;

/** Statements inside an XDP program (`x: i32, y: u32, z: i64, c: u32, s: u32` in scope), on one line. */
function program(body: string): KernelSnippet {
  return kernel`${HEADER}${body}
  return XdpAction.PASS;
});
`;
}

const refused: [string, string, RegExp, string?][] = [
  // A constant next to a typed operand must be a value of the operation's type.
  ["x < 0x80000000 (x: i32)", "out = x < 0x80000000 ? 1n : 0n;", /2147483648 \(0x80000000\) is not a value of i32/],
  ["y !== 0x100000000 (y: u32)", "out = y !== 0x100000000 ? 1n : 0n;", /is not a value of u32/],
  ["y === -1 (y: u32)", "out = y === -1 ? 1n : 0n;", /-1 is not a value of u32/],
  ["z < 0x8000000000000000n (z: i64)", "out = z < 0x8000000000000000n ? 1n : 0n;", /is not a value of i64/],
  ["x > -2147483649 (x: i32)", "out = x > -2147483649 ? 1n : 0n;", /is not a value of i32/],
  ["x * 0x80000000 (x: i32)", "out = u64(x * 0x80000000 / 3);", /is not a value of i32/],
  ["x += 0x80000000 (x: i32)", "let w: i32 = x; w += 0x80000000; out = u64(w);", /is not a value of i32/],
  ["y & -1 (y: u32)", "out = u64(y & -1);", /-1 is not a value of u32/],
  ["a shift count past the width", "out = u64(y << 32);", /shift count 32 is out of range for u32/],
  ["a negative shift count", "out = z >> -1n;", /shift count -1 is out of range for i64/],
  ["a constant shifted that fits no 32-bit type", "out = u64(0x100000000 >> s);", /does not fit in 32 bits/],
  // Initialisers are range-checked exactly.
  ["const b: i8 = 182", "const b: i8 = 182; out = u64(b);", /182 does not fit in i8 \(-128\.\.127\)/],
  ["const m1: u32 = -1", "const m1: u32 = -1; out = u64(m1);", /-1 does not fit in u32/],
  // `?:`: a constant branch takes the other branch's promoted type.
  ["c ? 0x80000000 : i32(x)", "out = u64(c ? 0x80000000 : i32(x));", /is not a value of i32/],
  ["c ? -1 : y (y: u32)", "out = u64(c ? -1 : y);", /-1 is not a value of u32/],
  ["c ? -1 : 0xffffffff", "out = u64(c ? -1 : 0xffffffff);", /no 32-bit integer type holds both -1 and 4294967295/],
  // A map reference is live: only another reference (or null) can be assigned to it.
  ["v = 7n on a lookup's variable", "let v = m.lookup(0); if (v === null) return 0; v = 7n; out = v;", /"v" is a live reference into a map value/, D.TypeMismatch],
  ["v += 1n on a lookup's variable", "let v = m.lookup(0); if (v === null) return 0; v += 1n; out = v;", /"v" is a live reference into a map value/, D.TypeMismatch],
  ["v++ on a lookup's variable", "let v = m.lookup(0); if (v === null) return 0; v++; out = v;", /"v" is a live reference into a map value/, D.TypeMismatch],
  ["comparing the value of a reference that may be null", "const v = m.lookup(0); const w = m.lookup(1); if (w === null) return 0; out = v === w ? 1n : 0n;", /this map reference may be null here/, D.TypeMismatch],
  ["copying a reference that may be null", "const v = m.lookup(0); const a = v; if (a === null) return 0; out = a;", /"a" would alias a map reference that may still be null/, D.TypeMismatch],
];

for (const [what, body, message, code = D.ConstantRange] of refused) {
  test(`refused: ${what}`, () => {
    // Exactly one diagnostic, with this code and message, on the offending statement.
    program(body).expectDiagnostic(code, message, { line: BODY_LINE });
  });
}

const accepted: [string, string][] = [
  ["constants that are values of the operation's type", "out = u64(x + 0x7fffffff) + u64(y & 0xffffffff) + u64(x > -2147483648 ? 1 : 0) + (z < 0x7fffffffffffffffn ? 1n : 0n);"],
  ["explicit conversions of constants wrap", "const b = i8(182); const m1 = u32(-1); out = u64(b) + u64(m1);"],
  ["shift counts within the width", "out = u64(y << 31) + (z >> 63n) + u64(0x80000000 >> s) + u64(x >>> 0);"],
  ["?: of narrow types and constants", "out = u64(c ? 182 : i8(x)) + u64(c ? -1 : u16(x)) + u64(c ? 300 : u8(x)) + u64(c ? 0x80000000 : 0);"],
  ["rebinding a reference to another lookup or null", "let v = m.lookup(0); if (v === null) { v = m.lookup(1); } if (v === null) return 0; const a = v; let b = v; b += 1n; out = a + b;"],
];

for (const [what, body] of accepted) {
  test(`accepted: ${what}`, () => {
    program(body).expectCompiles();
  });
}
