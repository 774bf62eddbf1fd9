// The IR optimizer run before code generation: SSA-based constant propagation, simplification and
// redundancy elimination, loop unrolling and control-flow clean-up, returning a new IrFunction.

import type { IrFunction } from "../ir.js";
import { eliminateDead, propagateCopies } from "./cleanup.js";
import { shareWideConstants } from "./constants.js";
import { eliminateDeadStores } from "./dse.js";
import { valueNumbering } from "./gvn.js";
import { knownBits } from "./known-bits.js";
import { sccp } from "./sccp.js";
import { simplify } from "./simplify.js";
import { simplifyCfg } from "./simplify-cfg.js";
import { planUnrolling, unrollLoops, type UnrollPlan } from "./unroll.js";
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
    // Iterate while a transforming pass found work; copy propagation and DCE only tidy up after them.
    let changed = sccp(s);
    if (propagateCopies(s)) changed = true;
    if (simplify(s)) changed = true;
    propagateCopies(s);
    if (valueNumbering(s, { contextParam, known: knownBits(s) })) changed = true;
    propagateCopies(s);
    if (eliminateDeadStores(s, contextParam)) changed = true;
    eliminateDead(s);
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
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const s = toSsa(ir);
    ssaRound(s, contextParam);
    const plans = opts.unroll === false || round >= MAX_ROUNDS - 2 ? [] : withinGrowth(s, planUnrolling(s));
    // Unrolling finds the loops by the SSA block ids, before jump threading reshapes them.
    const stats = { decided: 0 };
    ir = simplifyCfg(unrollLoops(fromSsa(s), plans), stats);
    // Another round only when something new can be propagated: copied loop bodies or threaded branches.
    if (plans.length === 0 && (round >= 1 || stats.decided === 0)) break;
  }
  return shareWideConstants(ir);
}

/** Rounds of SSA optimization; unrolling happens in all but the last two (which clean up after it). */
const MAX_ROUNDS = 6;
/** A function is not grown by unrolling beyond this many IR instructions. */
const MAX_FUNCTION_SIZE = 4000;

function withinGrowth(s: SsaFunction, plans: UnrollPlan[]): UnrollPlan[] {
  let size = s.blocks.reduce((n, b) => n + b.phis.length + b.insns.length + 1, 0);
  const out: UnrollPlan[] = [];
  for (const p of plans) {
    const loopSize = p.size * p.trips;
    if (size + loopSize > MAX_FUNCTION_SIZE) continue;
    size += loopSize;
    out.push(p);
  }
  return out;
}
