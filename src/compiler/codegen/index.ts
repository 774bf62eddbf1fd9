// The eBPF back end: IR function -> register-allocated, laid-out eBPF instructions with symbolic
// references for maps, globals, calls and kfuncs (see module.ts CompiledFunction.instructions).

import type { Instruction } from "../../asm/instruction.js";
import type { IrFunction } from "../ir.js";
import type { CoreAccess } from "../module.js";
import { emit } from "./emit.js";
import { layoutFrame } from "./frame.js";
import { optimize } from "../opt/index.js";
import { eliminateDeadCode } from "./liveness.js";
import { lower, type Cpu } from "./lower.js";
import { allocateRegisters } from "./regalloc.js";
import { slotLifetimes } from "./stack-lifetimes.js";
import { validateIr } from "./validate.js";

export { CodegenError } from "./error.js";
export { formatIr } from "./format-ir.js";
export type { Cpu } from "./lower.js";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /**
   * Target instruction set. "v3" (default; Linux 5.1+) has jmp32 and alu32; "v4" (Linux 6.6+) adds
   * sign-extending loads and moves and signed division, used for `ext`/signed loads/`sdiv`/`smod`
   * (on v3 those become shift or branch-free magnitude sequences).
   */
  cpu?: Cpu;
  /**
   * Run the IR optimizer first (default true): constant propagation, redundancy elimination, loop
   * unrolling, control-flow clean-up. Off, the IR is selected as written (for instruction-selection tests).
   */
  optimize?: boolean;
}

/** Figures about one generation, for tests and benchmarks. */
export interface GenerateStats {
  /** Allocation rounds (1 when nothing spilled). */
  rounds: number;
  /** Virtual registers spilled or re-materialized. */
  spilled: number;
  /** Spill slots in the frame (8 bytes each). */
  spillSlots: number;
  /** Moves removed by coalescing (final round). */
  coalesced: number;
  /** Dead instructions removed before allocation. */
  deadRemoved: number;
  /** Instructions removed by the peephole pass. */
  peepholeRemoved: number;
}

/** Output of {@link generate}. */
export interface GeneratedFunction {
  /** The code; jumps resolved, map/global/call/kfunc references symbolic, `.source` from IR `loc`. */
  instructions: Instruction[];
  /** CO-RE relocations: index into `instructions` (an ld_imm64 counts as one entry). */
  coreRelocations: { index: number; access: CoreAccess }[];
  /** Bytes of stack used (a multiple of 8, at most 512). */
  stackSize: number;
  stats: GenerateStats;
}

/**
 * Compiles one IR function to eBPF: instruction selection, dead code elimination, register
 * allocation with coalescing and spilling, frame layout, block layout and peephole clean-up.
 * Throws CodegenError (codes STACK_TOO_LARGE, TOO_MANY_ARGUMENTS, INVALID_IR, JUMP_TOO_FAR,
 * REGALLOC_FAILED) naming the function and source position.
 */
export function generate(fn: IrFunction, opts: GenerateOptions = {}): GeneratedFunction {
  validateIr(fn);
  const ir = opts.optimize === false ? fn : optimize(fn);
  const m = lower(ir, opts.cpu ?? "v3");
  const deadRemoved = eliminateDeadCode(m);
  const alloc = allocateRegisters(m);
  const frame = layoutFrame(ir.name, ir.slots, m.spillSlots, ir.loc, slotLifetimes(ir));
  const e = emit(m, alloc.colors, frame);
  return {
    instructions: e.instructions,
    coreRelocations: e.coreRelocations,
    stackSize: frame.size,
    stats: {
      rounds: alloc.rounds,
      spilled: alloc.spilled,
      spillSlots: m.spillSlots,
      coalesced: alloc.coalesced,
      deadRemoved,
      peepholeRemoved: e.peepholeRemoved,
    },
  };
}
