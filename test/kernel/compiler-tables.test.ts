// Module-level constant arrays (lookup tables) in .rodata indexed at run time: a 256-entry table
// indexed by a packet byte, tables of structs, inferred element types, and the documented result of
// an index past the end (0, never a fault). Each run on the IR evaluator and in the kernel (test run).

import { describe, test } from "node:test";
import { kernel } from "../helpers/kernel-snippet.js";
import { privileged } from "../helpers/privileges.js";

const TABLE = Array.from({ length: 256 }, (_, i) => (i * 257 + 11) & 0xffff);

function packet(...bytes: number[]): Uint8Array {
  const p = new Uint8Array(64);
  p.set(bytes);
  return p;
}

describe("compiler: constant lookup tables in .rodata", privileged(), () => {
  const byByte = kernel`
const TABLE: readonly u16[] = [${TABLE.join(", ")}];
const First = struct({ b: u8, c: u8 });
const out = new ArrayMap<u64>({ maxEntries: 4 });
export const p = xdp((ctx) => {
  const h = ctx.load(First, 0);
  if (h === null) return XdpAction.ABORTED;
  out.update(0, u64(TABLE[h.b]));
  out.update(1, u64(TABLE[h.c] + TABLE[255]));
  return TABLE[h.b] === ${TABLE[200]} ? XdpAction.DROP : XdpAction.PASS;
});`;

  for (const [b, c] of [[0, 1], [200, 255], [255, 7]] as const) {
    test(`a 256-entry u16 table indexed by packet bytes ${b}, ${c}`, async () => {
      await byByte.xdp().expectReturn({ packet: packet(b, c) }, b === 200 ? 1 : 2)
        .expectMap("out", 0, BigInt(TABLE[b]!))
        .expectMap("out", 1, BigInt(TABLE[c]! + TABLE[255]!));
    });
  }

  test("tables of structs, inferred element types, and an index past the end reading 0", async () => {
    await kernel`
const Rule = struct({ port: u16, action: u8, weight: u32 });
const RULES: readonly Infer<typeof Rule>[] = [
  { port: 80, action: 1, weight: 10 },
  { port: 443, action: 2, weight: 20 },
  { port: 22, action: 3, weight: 30 },
];
const SIGNED = [-5, 7, -9, 11] as const;
const WIDE = [1n, 1n << 40n] as const;
const FLAGS = [true, false, true, false];
const B = struct({ i: u8 });
const out = new ArrayMap<u64>({ maxEntries: 8 });
export const p = xdp((ctx) => {
  const h = ctx.load(B, 0);
  if (h === null) return XdpAction.ABORTED;
  const r = RULES[h.i % 3];
  out.update(0, u64(r.port) * 1000n + u64(r.action) * 100n + u64(r.weight));
  out.update(1, u64(i64(SIGNED[h.i & 3])));
  out.update(2, WIDE[h.i & 1]);
  out.update(3, FLAGS[h.i & 3] ? 1n : 0n);
  out.update(4, u64(SIGNED[h.i]) + 1n); // h.i = 4 is past the end: 0
  out.update(5, u64(RULES[2].port));
  return XdpAction.PASS;
});`.xdp().expectReturn({ packet: packet(4) }, 2)
      .expectMap("out", 0, 443n * 1000n + 200n + 20n) // 4 % 3 = 1
      .expectMap("out", 1, BigInt.asUintN(64, -5n))
      .expectMap("out", 2, 1n)
      .expectMap("out", 3, 1n)
      .expectMap("out", 4, 1n)
      .expectMap("out", 5, 22n);
  });
});
