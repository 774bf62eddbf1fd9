// Random IR programs with counted loops for the optimizer's differential tests: induction variables of
// both widths and signedness, every comparison, steps up and down, break/continue on data, nested
// loops and stack arrays indexed by the loop variable. Same interface as codegen-random.ts programs.

import type { AluBits, AluOp, Cond, IrFunction, VReg } from "../../src/compiler/ir.js";
import { evalAlu, evalCond } from "../../src/compiler/ir-eval.js";
import { FnBuilder, type BlockBuilder } from "./codegen-ir.js";
import { ALU_OPS, INPUTS, OUTPUTS, OUT_MAP, Rng } from "./codegen-random.js";

const LOOP_CONDS: readonly Cond[] = ["lt", "le", "gt", "ge", "ne", "slt", "sle", "sgt", "sge"];

/** Trip count of `for (i = init; i cond k; i = i op step)` at `bits`, or undefined beyond `max`. */
export function simulateTrips(init: bigint, cond: Cond, k: bigint, op: "add" | "sub", step: bigint, bits: AluBits, max: number): number | undefined {
  let i = init;
  for (let n = 0; n <= max; n++) {
    if (!evalCond(cond, bits, i, k)) return n;
    i = evalAlu(op, bits, i, step);
  }
  return undefined;
}

interface LoopShape {
  init: bigint;
  cond: Cond;
  k: bigint;
  op: "add" | "sub";
  step: bigint;
  bits: AluBits;
  trips: number;
}

/** A loop header test with a trip count in [0, maxTrips] (boundary values of the width included). */
function pickShape(rng: Rng, maxTrips: number): LoopShape {
  for (;;) {
    const bits: AluBits = rng.chance(0.5) ? 32 : 64;
    const cond = rng.pick(LOOP_CONDS);
    const op = rng.chance(0.7) ? "add" : "sub";
    const step = BigInt(1 + rng.int(rng.chance(0.8) ? 2 : 5));
    const edge = bits === 32 ? [0x7ffffff0n, 0xfffffff0n, 0x80000000n - 4n] : [0x7ffffffffffffff0n, 0xfffffffffffffff0n, 0xfffffffen];
    const init = rng.chance(0.6) ? BigInt(rng.int(10)) - 3n : rng.pick(edge);
    const span = BigInt(rng.int(maxTrips + 2));
    let k = op === "add" ? init + span * step : init - span * step;
    if (rng.chance(0.2)) k += BigInt(rng.int(3)) - 1n;
    k = BigInt.asUintN(bits, k);
    const trips = simulateTrips(BigInt.asUintN(64, init), cond, k, op, step, bits, maxTrips);
    if (trips !== undefined) return { init: BigInt.asUintN(64, init), cond, k, op, step, bits, trips };
  }
}

/** Options of {@link randomLoopProgram}. */
export interface LoopProgramOptions {
  /** Upper bound of every loop's trip count (default 40). */
  maxTrips?: number;
}

/**
 * A random program `(ctx) -> u64` reading INPUTS u64 arguments from the context, running one to three
 * counted loops (possibly nested, with data-dependent break/continue), writing OUTPUTS u64 results to
 * the value at key 0 of array map OUT_MAP.
 */
export function randomLoopProgram(seed: number, opts: LoopProgramOptions = {}): IrFunction {
  const rng = new Rng(seed);
  const maxTrips = opts.maxTrips ?? 40;
  const f = new FnBuilder(`loops_${seed}`, 1);
  const ctx = f.params[0];
  const b0 = f.block(), fail = f.block(), body = f.block();
  const keySlot = f.slot(4, 4, "key");
  const arr = f.slot(64, 8, "arr");
  const k0 = b0.stackAddr(keySlot);
  b0.store(4, k0, 0, 0n);
  const out = b0.call(1, [b0.mapFd(OUT_MAP), k0])!;
  b0.br("eq", 64, out, 0n, fail, body);
  fail.ret(0n);
  const inputs: VReg[] = [];
  for (let i = 0; i < INPUTS; i++) inputs.push(body.load(8, ctx, 8 * i));
  const a = body.stackAddr(arr);
  for (let j = 0; j < 8; j++) body.store(8, a, j * 8, inputs[j]);
  const acc = body.mov(inputs[8]);
  const acc2 = body.mov(rng.imm());

  const mix = (b: BlockBuilder, i: VReg, count: number) => {
    for (let n = 0; n < count; n++) {
      const r = rng.next();
      const bits: AluBits = rng.chance(0.5) ? 32 : 64;
      const op: AluOp = rng.pick(ALU_OPS.filter((o) => o !== "sdiv" && o !== "smod" && o !== "div" && o !== "mod"));
      if (r < 0.35) b.alu(op, bits, acc, i, acc);
      else if (r < 0.55) b.alu(op, bits, acc2, rng.pick([...inputs, acc]), acc2);
      else if (r < 0.7) {
        // arr[i & 7] op= acc, read back.
        const idx = b.alu("and", 64, i, 7n);
        const off = b.alu("lsh", 64, idx, 3n);
        const p = b.alu("add", 64, a, off);
        const v = b.load(8, p, 0);
        b.store(8, p, 0, b.alu(op, 64, v, acc));
        b.alu("xor", 64, acc2, b.load(8, a, 8 * rng.int(8)), acc2);
      } else if (r < 0.85) b.alu(op, bits, acc, rng.imm(), acc);
      else b.alu("add", 64, acc, b.alu("mul", bits, i, BigInt(1 + rng.int(9))), acc);
    }
  };

  /** Emits a loop starting in `pre`; returns the block after it. */
  const loop = (pre: BlockBuilder, depth: number): BlockBuilder => {
    const s = pickShape(rng, depth > 0 ? Math.min(maxTrips, 6) : maxTrips);
    const head = f.block(), inner = f.block(), latch = f.block(), exit = f.block();
    const i = pre.mov(s.init);
    pre.jmp(head);
    // The header tests i itself or an extension of it.
    let tested = i;
    if (s.bits === 32 && rng.chance(0.3)) tested = head.ext(i, 32, rng.chance(0.5));
    if (rng.chance(0.5)) head.br(s.cond, s.bits, tested, s.k, inner, exit);
    else head.br(invert(s.cond), s.bits, tested, s.k, exit, inner);
    mix(inner, i, 1 + rng.int(4));
    let cur = inner;
    if (rng.chance(0.35)) {
      // Data-dependent continue or break.
      const next = f.block();
      const target = rng.chance(0.5) ? latch : exit;
      cur.br(rng.pick(["set", "gt", "slt", "eq"] as const), 64, acc, rng.pick([...inputs, 3n, 1n]), target, next);
      cur = next;
      mix(cur, i, 1 + rng.int(2));
    }
    if (depth === 0 && rng.chance(0.3)) cur = loop(cur, depth + 1);
    cur.jmp(latch);
    latch.alu(s.op, s.bits === 32 && rng.chance(0.5) ? 32 : 64, i, s.step, i);
    if (s.bits === 32) latch.alu("and", 64, i, 0xffffffffn, i);
    latch.jmp(head);
    return exit;
  };
  let cur = body;
  const loops = 1 + rng.int(3);
  for (let n = 0; n < loops; n++) cur = loop(cur, 0);
  for (let j = 0; j < OUTPUTS; j++) {
    const v = j === 0 ? acc : j === 1 ? acc2 : cur.load(8, a, (j - 2) * 8);
    cur.store(8, out, 8 * j, v);
  }
  cur.ret(cur.alu("xor", 64, acc, acc2));
  return f.build();
}

function invert(c: Cond): Cond {
  const inv: Record<string, Cond> = { lt: "ge", ge: "lt", le: "gt", gt: "le", eq: "ne", ne: "eq", slt: "sge", sge: "slt", sle: "sgt", sgt: "sle" };
  return inv[c]!;
}
