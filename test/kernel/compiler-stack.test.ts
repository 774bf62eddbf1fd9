// Stack slots are reused across non-overlapping lifetimes (issue 14): straight-line code that needs a
// new key and value for every map update fits the 512-byte frame, and values whose lifetimes overlap
// (across branches and loops) keep their own bytes. Each program takes its inputs from the packet and
// runs in the kernel through BPF_PROG_TEST_RUN; results are read back from maps.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compiler/index.js";
import { loadSource, readU64s, TS_FIXTURES } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";
import { resolve } from "node:path";

const HEADER = `import { xdp, HashMap, ArrayMap, XdpAction, struct, array, u32, u64 } from "tsbpf/kernel";
const In = struct({ x: u32, y: u32 });
const Key = struct({ id: u32, tag: u32, salt: u64 });
const Val = struct({ a: u64, b: u64, c: u64 });
const table = new HashMap({ maxEntries: 128, key: Key, value: Val });
const Out = struct({ v: array(u64, 16) });
const res = new ArrayMap({ maxEntries: 1, value: Out });
`;

function program(body: string): string {
  return `${HEADER}
export const prog = xdp((ctx) => {
  const p = ctx.load(In, 0);
  if (p === null) return XdpAction.ABORTED;
${body}
  return XdpAction.PASS;
});
`;
}

function packet(x: number, y: number): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, x, true);
  dv.setUint32(4, y, true);
  return b;
}

const N = 40;
const updates = Array.from({ length: N }, (_, i) =>
  `  table.update(Key.from({ id: ${i}, tag: p.x, salt: ${i * 3}n }), Val.from({ a: u64(p.x) + ${i}n, b: u64(p.y) * ${i}n, c: ${i * 7}n }));`).join("\n");

describe("stack slot reuse", privileged(), () => {
  for (const cpu of ["v3", "v4"] as const) {
    test(`${N} straight-line updates with struct keys and values fit the frame and all land (-mcpu=${cpu})`, () => {
      const coll = loadSource(program(updates), { cpu });
      try {
        assert.equal(coll.program("prog").testRun({ data: packet(11, 5) }).retval, 2);
        const m = coll.map("table");
        let n = 0;
        for (const [k, v] of m.entriesRaw()) {
          const kd = new DataView(k.buffer, k.byteOffset), vd = new DataView(v.buffer, v.byteOffset);
          const i = kd.getUint32(0, true);
          assert.equal(kd.getUint32(4, true), 11, `tag of ${i}`);
          assert.equal(kd.getBigUint64(8, true), BigInt(i * 3), `salt of ${i}`);
          assert.deepEqual([vd.getBigUint64(0, true), vd.getBigUint64(8, true), vd.getBigUint64(16, true)], [11n + BigInt(i), 5n * BigInt(i), BigInt(i * 7)], `value of ${i}`);
          n++;
        }
        assert.equal(n, N);
      } finally {
        coll.close();
      }
    });

    test(`values live at the same time keep their own bytes: across branches and a loop (-mcpu=${cpu})`, () => {
      const body = `
  const r = res.lookup(0);
  if (r === null) return XdpAction.ABORTED;
  const outer = Key.from({ id: p.x, tag: p.y, salt: 99n });
  let acc: u64 = 0n;
  for (let i: u32 = 0; i < 4; i++) {
    const inner = Val.from({ a: u64(i), b: u64(p.x) + u64(i), c: 1n });
    acc += inner.a + inner.b + inner.c + u64(outer.tag);
  }
  if (p.x > 10) {
    const left = Val.from({ a: 1n, b: 2n, c: 3n });
    r.v[0] = left.a + left.b + left.c;
  } else {
    const right = Key.from({ id: 7, tag: 8, salt: 9n });
    r.v[0] = u64(right.id) + u64(right.tag) + right.salt;
  }
  const later = Val.from({ a: u64(outer.id), b: outer.salt, c: acc });
  r.v[1] = later.a;
  r.v[2] = later.b;
  r.v[3] = later.c;
  r.v[4] = u64(outer.tag);`;
      for (const [x, y] of [[11, 5], [3, 4]] as const) {
        const coll = loadSource(program(body), { cpu });
        try {
          assert.equal(coll.program("prog").testRun({ data: packet(x, y) }).retval, 2);
          // acc = sum over i<4 of (i + (x + i) + 1 + y)
          const acc = BigInt([0, 1, 2, 3].reduce((s, i) => s + i + x + i + 1 + y, 0));
          assert.deepEqual(readU64s(coll, "res", 0).slice(0, 5), [x > 10 ? 6n : 24n, BigInt(x), 99n, acc, BigInt(y)]);
        } finally {
          coll.close();
        }
      }
    });
  }
});

test("a frame that still overflows names the source lines holding the most bytes, briefly", () => {
  const big = `import { xdp, ArrayMap, XdpAction, struct, array, u64 } from "tsbpf/kernel";
const Big = struct({ v: array(u64, 40) });
const m = new ArrayMap({ maxEntries: 2, value: Big });
export const prog = xdp((ctx) => {
  const a = Big.zero();
  const b = Big.zero();
  a.v[1] = 1n;
  b.v[2] = 2n;
  m.update(0, a);
  m.update(1, b);
  return XdpAction.PASS;
});
`;
  const path = resolve(TS_FIXTURES, `virtual-stack-${process.pid}.bpf.ts`);
  const r = compile(path, { sources: new Map([[path, big]]) });
  assert.equal(r.diagnostics.length, 1, r.diagnostics.map((d) => d.message).join("\n"));
  const d = r.diagnostics[0]!;
  assert.equal(d.code, "TSBPF1600");
  assert.match(d.message, /needs 6\d\d bytes, over the 512-byte limit/);
  assert.match(d.message, /line 5.*320 bytes/s);
  assert.match(d.message, /line 6.*320 bytes/s);
  assert.ok(d.message.length < 400, `a short message (${d.message.length} chars): ${d.message}`);
});
