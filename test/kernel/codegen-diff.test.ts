// Differential tests of the code generator: random IR programs compiled, loaded and run in the kernel
// (raw_tp BPF_PROG_TEST_RUN) must agree with the IR interpreter on the return value and map output.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { privileged } from "../helpers/privileges.js";
import { encode } from "../../src/asm/encode.js";
import { generate, formatIr, type Cpu } from "../../src/compiler/codegen/index.js";
import { EvalMap, evalIr } from "../../src/compiler/ir-eval.js";
import type { IrFunction } from "../../src/compiler/ir.js";
import * as bpf from "../../src/sys/bpf.js";
import { MAP_TYPE, PROG_TYPE } from "../../src/sys/constants.js";
import { link } from "../helpers/codegen-ir.js";
import { INPUTS, OUTPUTS, OUT_MAP, Rng, randomProgram } from "../helpers/codegen-random.js";

const KEY0 = new Uint8Array(4);

/** Compiles and loads `fns` (entry first) as a raw_tp program; on rejection the error carries IR, asm and log. */
function loadRawTp(fns: IrFunction[], maps: Record<string, number>, cpu: Cpu): { fd: ReturnType<typeof bpf.progLoad>; insnCount: number; spilled: number } {
  const all = fns.map((f) => ({ name: f.name, g: generate(f, { cpu }) }));
  // A subprogram whose every call the optimizer proved unreachable is left out (the kernel refuses dead code).
  const gens = all.filter((x, i) => i === 0 || all[0].g.instructions.some((insn) => insn.reference === x.name));
  const insns = link(gens.map(({ name, g }) => ({ name, instructions: g.instructions })), maps);
  const log = new Uint8Array(1 << 20);
  try {
    const fd = bpf.progLoad({ progType: PROG_TYPE.RAW_TRACEPOINT, insns: encode(insns), license: "GPL", logBuf: log, logLevel: 1 });
    return { fd, insnCount: insns.reduce((a, i) => a + i.slots, 0), spilled: gens.reduce((a, x) => a + x.g.stats.spilled, 0) };
  } catch (e) {
    const text = bpf.logText(log);
    const asm = insns.map((i, n) => `${n}: ${i.toString()}`).join("\n");
    throw new Error(`load failed: ${(e as Error).message}\n${fns.map(formatIr).join("\n")}\n${asm}\n--- verifier log (tail) ---\n${text.slice(-4000)}`);
  }
}

function u64s(values: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  return b;
}

function runCase(seed: number, cpu: Cpu, outFd: ReturnType<typeof bpf.mapCreate>, stats: { insns: number; spilled: number }): void {
  const p = randomProgram(seed);
  const fns = p.sub ? [p.entry, p.sub] : [p.entry];
  const { fd, insnCount, spilled } = loadRawTp(fns, { [OUT_MAP]: outFd.value }, cpu);
  stats.insns += insnCount;
  stats.spilled += spilled;
  try {
    const rng = new Rng(seed * 7 + 1);
    for (let trial = 0; trial < 3; trial++) {
      const inputs = Array.from({ length: INPUTS }, () => rng.u64());
      const ctx = u64s(inputs);
      bpf.mapUpdate(outFd, KEY0, new Uint8Array(OUTPUTS * 8));
      const r = bpf.progTestRun(fd, { ctxIn: ctx });
      const got = new Uint8Array(OUTPUTS * 8);
      bpf.mapLookup(outFd, KEY0, got);
      const map = new EvalMap({ type: "array", keySize: 4, valueSize: OUTPUTS * 8, maxEntries: 1 });
      const want = evalIr(p.entry, { functions: p.sub ? [p.sub] : [], ctx: ctx.slice(), maps: { [OUT_MAP]: map } });
      const ctxt = () => `seed ${seed} cpu ${cpu} inputs ${inputs.map((x) => "0x" + x.toString(16)).join(",")}\n${fns.map(formatIr).join("\n")}`;
      assert.equal(r.retval >>> 0, Number(want.value & 0xffffffffn), `return value differs: ${ctxt()}`);
      assert.deepEqual([...got], [...map.lookup(KEY0)!], `map output differs: ${ctxt()}`);
    }
  } finally {
    fd.close();
  }
}

describe("codegen: random IR programs agree with the interpreter", privileged(), () => {
  for (const cpu of ["v3", "v4"] as const) {
    test(`cpu ${cpu}`, () => {
      const out = bpf.mapCreate({ mapType: MAP_TYPE.ARRAY, keySize: 4, valueSize: OUTPUTS * 8, maxEntries: 1, mapName: "cg_out" });
      const stats = { insns: 0, spilled: 0 };
      try {
        const base = cpu === "v3" ? 1000 : 2000;
        for (let seed = base; seed < base + 60; seed++) runCase(seed, cpu, out, stats);
      } finally {
        out.close();
      }
      console.log(`# cpu ${cpu}: 60 programs, ${stats.insns} instructions, ${stats.spilled} spilled vregs`);
    });
  }
});
