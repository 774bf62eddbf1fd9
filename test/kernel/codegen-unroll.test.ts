// Differential tests of the optimizer in the kernel: random programs with counted loops (nested,
// break/continue, stack arrays), optimized (loops unrolled) and compiled, must pass the verifier and
// agree with the IR interpreter running the original program.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { privileged } from "../helpers/privileges.js";
import { encode } from "../../src/asm/encode.js";
import { generate, formatIr } from "../../src/compiler/codegen/index.js";
import { EvalMap, evalIr } from "../../src/compiler/ir-eval.js";
import * as bpf from "../../src/sys/bpf.js";
import { MAP_TYPE, PROG_TYPE } from "../../src/sys/constants.js";
import { link } from "../helpers/codegen-ir.js";
import { INPUTS, OUTPUTS, OUT_MAP, Rng } from "../helpers/codegen-random.js";
import { randomLoopProgram } from "../helpers/codegen-loops.js";

const KEY0 = new Uint8Array(4);

function u64s(values: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  return b;
}

describe("codegen: optimized loop programs agree with the interpreter", privileged(), () => {
  for (const cpu of ["v3", "v4"] as const) {
    test(`cpu ${cpu}: 60 programs, 3 inputs each`, () => {
      const out = bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: OUTPUTS * 8, maxEntries: 1, mapName: "cg_loops" });
      let insns = 0;
      try {
        const base = cpu === "v3" ? 3000 : 4000;
        for (let seed = base; seed < base + 60; seed++) {
          const fn = randomLoopProgram(seed, { maxTrips: 24 });
          const g = generate(fn, { cpu });
          const prog = link([{ name: fn.name, instructions: g.instructions }], { [OUT_MAP]: out.value });
          insns += prog.reduce((a, i) => a + i.slots, 0);
          const log = new Uint8Array(1 << 20);
          let fd;
          try {
            fd = bpf.progLoad({ progType: PROG_TYPE.RAW_TRACEPOINT, insns: encode(prog), license: "GPL", logBuf: log, logLevel: 1 });
          } catch (e) {
            throw new Error(`seed ${seed}: load failed: ${(e as Error).message}\n${formatIr(fn)}\n${prog.map((i, n) => `${n}: ${i}`).join("\n")}\n${bpf.logText(log).slice(-3000)}`);
          }
          try {
            const rng = new Rng(seed * 5 + 1);
            for (let trial = 0; trial < 3; trial++) {
              const ctx = u64s(Array.from({ length: INPUTS }, () => rng.u64()));
              bpf.mapUpdate(out, KEY0, new Uint8Array(OUTPUTS * 8));
              const r = bpf.progTestRun(fd, { ctxIn: ctx });
              const got = new Uint8Array(OUTPUTS * 8);
              bpf.mapLookup(out, KEY0, got);
              const map = new EvalMap({ type: "array", keySize: 4, valueSize: OUTPUTS * 8, maxEntries: 1 });
              const want = evalIr(fn, { ctx: ctx.slice(), maps: { [OUT_MAP]: map } });
              assert.equal(r.retval >>> 0, Number(want.value & 0xffffffffn), `seed ${seed} return value\n${formatIr(fn)}`);
              assert.deepEqual([...got], [...map.lookup(KEY0)!], `seed ${seed} map output\n${formatIr(fn)}`);
            }
          } finally {
            fd.close();
          }
        }
      } finally {
        out.close();
      }
      console.log(`# cpu ${cpu}: 60 loop programs, ${insns} instructions`);
    });
  }
});
