// Run-time loops: `while`, `for` with a run-time bound and `for` loops too long for the verifier to
// walk, lowered to open-coded number iterators (bpf_iter_num_*): results on the IR evaluator and the
// kernel (BPF_PROG_TEST_RUN), with break, continue and return keeping their meaning.

import { describe, test } from "node:test";
import { kernel } from "../helpers/kernel-snippet.js";
import { privileged } from "../helpers/privileges.js";

/** A 64-byte Ethernet frame whose bytes 14..17 hold `v` (little-endian u32). */
function frame(v: number): Uint8Array {
  const f = new Uint8Array(64);
  f[12] = 0x08;
  new DataView(f.buffer).setUint32(14, v >>> 0, true);
  return f;
}

function collatz(n: number): number {
  let steps = 0;
  while (n !== 1 && n !== 0) {
    n = n % 2 ? 3 * n + 1 : n / 2;
    steps++;
  }
  return steps;
}

describe("run-time loops on the kernel", privileged(), () => {
  test("a 300,000-iteration sum", async () => {
    await kernel`
export const p = xdp((ctx) => {
  let sum: u64 = 0n;
  for (let i: u32 = 0; i < 300000; i++) sum += u64(i);
  return sum === 44999850000n ? XdpAction.PASS : XdpAction.DROP;
});`.xdp().expectReturn({ packet: frame(0) }, 2);
  });

  test("counters that start at a constant: a 300,000-round while loop, and a for loop stepping by 2", async () => {
    await kernel`
export const p = xdp((ctx) => {
  let i: u32 = 0;
  let sum: u64 = 0n;
  while (i < 300000) {
    sum += u64(i);
    i++;
  }
  return sum === 44999850000n ? XdpAction.PASS : XdpAction.DROP;
});`.xdp().expectReturn({ packet: frame(0) }, 2);
    await kernel`
export const p = xdp((ctx) => {
  let even: u64 = 0n;
  for (let j: u32 = 0; j < 300000; j += 2) even += u64(j);
  return even === 22499850000n ? XdpAction.PASS : XdpAction.DROP;
});`.xdp().expectReturn({ packet: frame(0) }, 2);
  });

  test("a while loop driven by a packet value (Collatz steps)", async () => {
    const prog = kernel`
export const p = xdp((ctx) => {
  const v = ctx.load(u32, 14);
  if (v === null) return XdpAction.ABORTED;
  let n: u64 = u64(v);
  let steps: u32 = 0;
  while (n !== 1n && n !== 0n) {
    n = (n & 1n) === 1n ? 3n * n + 1n : n / 2n;
    steps++;
  }
  return steps;
});`.xdp();
    for (const v of [0, 1, 6, 27, 97, 871]) await prog.expectReturn({ packet: frame(v) }, collatz(v));
  });

  test("break, continue and return inside a loop with a run-time bound", async () => {
    const prog = kernel`
export const p = xdp((ctx) => {
  const v = ctx.load(u32, 14);
  if (v === null) return XdpAction.ABORTED;
  const n = v & 0xffff;
  let odd: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if ((i & 1) === 0) continue;
    if (i > 5000) break;
    odd += 1;
    if (odd === 1234) return odd + 7777;
  }
  return odd & 0xff;
});`.xdp();
    const model = (v: number): number => {
      const n = v & 0xffff;
      let odd = 0;
      for (let i = 0; i < n; i++) {
        if ((i & 1) === 0) continue;
        if (i > 5000) break;
        odd += 1;
        if (odd === 1234) return odd + 7777;
      }
      return odd & 0xff;
    };
    for (const v of [0, 7, 100, 2467, 2469, 9000, 60000]) await prog.expectReturn({ packet: frame(v) }, model(v));
  });

  test("a loop with break past the verifier's walk: the first multiple of a packet value over 250,000", async () => {
    const prog = kernel`
export const p = xdp((ctx) => {
  const v = ctx.load(u32, 14);
  if (v === null || v === 0) return XdpAction.ABORTED;
  let found: u32 = 0;
  for (let i: u32 = 250000; i < 600000; i++) {
    if (i % v === 0) {
      found = i;
      break;
    }
  }
  return found - 250000;
});`.xdp();
    for (const v of [1, 7, 1000, 99991]) await prog.expectReturn({ packet: frame(v) }, Math.ceil(250000 / v) * v - 250000);
  });

  test("a while loop inside a subprogram, returning from the loop", async () => {
    const prog = kernel`
/** @noinline */
function firstSetBit(x: u32): u32 {
  let i: u32 = 0;
  while (i < 32) {
    if (((x >> i) & 1) === 1) return i;
    i++;
  }
  return 99;
}
export const p = xdp((ctx) => {
  const v = ctx.load(u32, 14);
  if (v === null) return XdpAction.ABORTED;
  return firstSetBit(v);
});`.xdp();
    for (const v of [0, 1, 8, 0x80000000, 0x30]) await prog.expectReturn({ packet: frame(v) }, v === 0 ? 99 : 31 - Math.clz32(v & -v));
  });
});
