// Full unrolling of small loops with a constant trip count: the trip count is found on SSA (a header
// test of an induction variable with constant start and step), then the loop body is copied that many
// times in front of the original loop, which constant propagation afterwards proves dead.

import type { BlockId, IrBlock, IrFunction, IrInstruction, VReg } from "../ir.js";
import { evalAlu, evalCond, evalExt } from "../ir-eval.js";
import { dominators, naturalLoops, termSuccessors, type Loop } from "./cfg.js";
import { defOf } from "./insn.js";
import { newBlockId, ssaDominators, type SsaFunction } from "./ssa.js";

/** Limits of full unrolling. */
export interface UnrollBudget {
  /** Largest trip count unrolled. */
  maxTrips: number;
  /** Largest loop size (instructions, phis and terminators of its blocks) times trip count. */
  maxCopiedSize: number;
}

/** Defaults: up to 32 iterations and 600 copied IR instructions per loop. */
export const DEFAULT_UNROLL_BUDGET: UnrollBudget = { maxTrips: 32, maxCopiedSize: 600 };

/** A loop to unroll: its header block and how many times the body runs. */
export interface UnrollPlan {
  readonly header: BlockId;
  readonly trips: number;
  /** Size of the loop (as in {@link UnrollBudget.maxCopiedSize}). */
  readonly size: number;
}

/**
 * The number of times control goes from `loop`'s header into its body, when the header ends in a
 * test of `i` (or an extension of it) against a constant, `i` starts at a constant and every back edge
 * brings `i + c` (or `i - c`). Undefined when that is not the loop's shape or the count exceeds `max`.
 */
export function tripCount(fn: SsaFunction, loop: Loop, max: number): number | undefined {
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const h = by.get(loop.header);
  if (!h || h.term.op !== "br") return undefined;
  const t = h.term;
  const thenIn = loop.blocks.has(t.then), elseIn = loop.blocks.has(t.else);
  if (thenIn === elseIn || !("imm" in t.b)) return undefined;
  const def = new Map<VReg, IrInstruction>();
  for (const b of fn.blocks) for (const ins of b.insns) {
    const d = defOf(ins);
    if (d !== undefined) def.set(d, ins);
  }
  // The tested value: the induction phi itself or an extension of it.
  let tested: (i: bigint) => bigint = (i) => i;
  let iv = t.a;
  const td = def.get(t.a);
  if (td && td.op === "ext") {
    iv = td.src;
    const { from, signed } = td;
    tested = (i) => evalExt(from, signed, i);
  }
  const phi = h.phis.find((p) => p.dst === iv);
  if (!phi) return undefined;
  let init: bigint | undefined;
  let step: { op: "add" | "sub"; bits: 32 | 64; c: bigint } | undefined;
  for (let k = 0; k < h.preds.length; k++) {
    const a = phi.args[k];
    if (loop.blocks.has(h.preds[k])) {
      if (!("reg" in a)) return undefined;
      const d = def.get(a.reg);
      if (!d || d.op !== "alu" || (d.alu !== "add" && d.alu !== "sub")) return undefined;
      let c: bigint | undefined;
      if ("reg" in d.a && d.a.reg === iv && "imm" in d.b) c = d.b.imm;
      else if (d.alu === "add" && "reg" in d.b && d.b.reg === iv && "imm" in d.a) c = d.a.imm;
      if (c === undefined) return undefined;
      const s = { op: d.alu, bits: d.bits, c };
      if (step && (step.op !== s.op || step.bits !== s.bits || step.c !== s.c)) return undefined;
      step = s;
    } else {
      if (!("imm" in a)) return undefined;
      const v = BigInt.asUintN(64, a.imm);
      if (init !== undefined && init !== v) return undefined;
      init = v;
    }
  }
  if (init === undefined || step === undefined) return undefined;
  const k = BigInt.asUintN(64, t.b.imm);
  let i = init;
  for (let n = 0; n <= max; n++) {
    const stays = evalCond(t.cond, t.bits, tested(i), k) === thenIn;
    if (!stays) return n;
    i = evalAlu(step.op, step.bits, i, step.c);
  }
  return undefined;
}

/** Size of a loop: phis, instructions and terminators of its blocks. */
function loopSize(fn: SsaFunction, loop: Loop): number {
  let n = 0;
  for (const b of fn.blocks) if (loop.blocks.has(b.id)) n += b.phis.length + b.insns.length + 1;
  return n;
}

/** Innermost loops of `fn` worth unrolling completely, with their trip counts. */
export function planUnrolling(fn: SsaFunction, budget: UnrollBudget = DEFAULT_UNROLL_BUDGET): UnrollPlan[] {
  const dom = ssaDominators(fn);
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const loops = naturalLoops({ entry: fn.blocks[0].id, succ: (id) => termSuccessors(by.get(id)!.term) }, dom);
  const plans: UnrollPlan[] = [];
  for (const loop of loops) {
    if (loop.header === fn.blocks[0].id) continue;
    // Innermost only: no other loop's header inside.
    if (loops.some((o) => o !== loop && o.header !== loop.header && loop.blocks.has(o.header))) continue;
    const trips = tripCount(fn, loop, budget.maxTrips);
    if (trips === undefined) continue;
    const size = loopSize(fn, loop);
    if (trips * size > budget.maxCopiedSize) continue;
    plans.push({ header: loop.header, trips, size });
  }
  return plans;
}

/**
 * Unrolls the planned loops of a (non-SSA) IR function: `trips` copies of the loop body run before the
 * original loop, copy k's back edges entering copy k+1 and the last copy's entering the original. The
 * result computes exactly what the loop did whatever the real trip count; when the plan is right, the
 * original loop becomes unreachable once the copies' induction values are propagated.
 */
export function unrollLoops(fn: IrFunction, plans: readonly UnrollPlan[]): IrFunction {
  if (plans.length === 0) return fn;
  let blocks: IrBlock[] = fn.blocks.map((b) => ({ id: b.id, instructions: [...b.instructions], terminator: b.terminator }));
  for (const plan of plans) {
    const by = new Map(blocks.map((b) => [b.id, b]));
    if (!by.has(plan.header) || plan.header === blocks[0].id || plan.trips <= 0) continue;
    const g = { entry: blocks[0].id, succ: (id: BlockId) => termSuccessors(by.get(id)!.terminator) };
    const dom = dominators(g);
    const loop = naturalLoops(g, dom).find((l) => l.header === plan.header);
    if (!loop) continue;
    let next = newBlockId(blocks);
    const body = blocks.filter((b) => loop.blocks.has(b.id));
    const copies: Map<BlockId, BlockId>[] = [];
    for (let k = 0; k < plan.trips; k++) {
      const ids = new Map<BlockId, BlockId>();
      for (const b of body) ids.set(b.id, next++);
      copies.push(ids);
    }
    const route = (k: number, target: BlockId): BlockId => {
      if (target === plan.header) return k + 1 < plan.trips ? copies[k + 1].get(target)! : plan.header;
      return copies[k].get(target) ?? target;
    };
    const added: IrBlock[] = [];
    copies.forEach((ids, k) => {
      for (const b of body) {
        const t = b.terminator;
        let nt = t;
        if (t.op === "jmp") nt = { ...t, target: route(k, t.target) };
        else if (t.op === "br") nt = { ...t, then: route(k, t.then), else: route(k, t.else) };
        added.push({ id: ids.get(b.id)!, instructions: [...b.instructions], terminator: nt });
      }
    });
    // Entries from outside the loop go to the first copy's header.
    const first = copies[0].get(plan.header)!;
    for (const b of blocks) {
      if (loop.blocks.has(b.id)) continue;
      const t = b.terminator;
      if (t.op === "jmp" && t.target === plan.header) b.terminator = { ...t, target: first };
      else if (t.op === "br" && (t.then === plan.header || t.else === plan.header)) {
        b.terminator = { ...t, then: t.then === plan.header ? first : t.then, else: t.else === plan.header ? first : t.else };
      }
    }
    blocks = [...blocks, ...added];
  }
  return { ...fn, blocks };
}
