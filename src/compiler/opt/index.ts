// The IR optimizer run before code generation: SSA-based constant propagation, simplification and
// redundancy elimination, loop unrolling and control-flow clean-up, returning a new IrFunction.

import type { IrFunction } from "../ir.js";
import { eliminateDead, propagateCopies } from "./cleanup.js";
import { valueNumbering } from "./gvn.js";
import { knownBits } from "./known-bits.js";
import { sccp } from "./sccp.js";
import { simplify } from "./simplify.js";
import { simplifyCfg } from "./simplify-cfg.js";
import { fromSsa, toSsa, type SsaFunction } from "./ssa.js";

/** Options of {@link optimize}. */
export interface OptimizeOptions {
  /** Unroll loops with a constant trip count when the copies stay within the size budget (default true). */
  unroll?: boolean;
  /**
   * Parameter 0 is the program context, an object no other pointer reaches (default: when the function
   * has exactly one parameter, as every program entry point does).
   */
  contextParam?: boolean;
}

function ssaRound(s: SsaFunction, contextParam: boolean): void {
  for (let i = 0; i < 8; i++) {
    let changed = sccp(s);
    changed = propagateCopies(s) || changed;
    changed = simplify(s) || changed;
    changed = propagateCopies(s) || changed;
    const known = knownBits(s, s.blocks.map((b) => b.id));
    changed = valueNumbering(s, { contextParam, known }) || changed;
    changed = propagateCopies(s) || changed;
    changed = eliminateDead(s) || changed;
    if (!changed) break;
  }
}

/**
 * Optimizes one IR function. The input is not modified. The result computes the same return value
 * and memory effects (helper calls in the same order with the same arguments) on every input.
 */
export function optimize(fn: IrFunction, opts: OptimizeOptions = {}): IrFunction {
  const contextParam = opts.contextParam ?? fn.params.length === 1;
  let ir = fn;
  for (let round = 0; round < 2; round++) {
    const s = toSsa(ir);
    ssaRound(s, contextParam);
    ir = simplifyCfg(fromSsa(s));
  }
  return ir;
}
