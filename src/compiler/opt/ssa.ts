// Static single assignment form of an IR function (pruned, phis at iterated dominance frontiers where
// the vreg is live) and its destruction back to IR (critical edges split, parallel copies sequenced).

import type { SourceLocation } from "../../asm/instruction.js";
import type { BlockId, IrBlock, IrFunction, IrInstruction, IrTerminator, Operand, StackSlot, VReg } from "../ir.js";
import { dominanceFrontiers, dominators, retarget, termSuccessors, type Dominators } from "./cfg.js";
import { defOf, forEachUse, mapDef, mapTermUses, mapUses, termUsesOf, usesOf } from "./insn.js";
import { appendAll, walkTree } from "./recurse.js";

/** `dst = φ(args)`: `args[i]` is the value arriving from the block's `preds[i]`. */
export interface Phi {
  dst: VReg;
  args: Operand[];
}

/** A block in SSA form. `preds` is ordered and parallel to every phi's `args`. */
export interface SsaBlock {
  readonly id: BlockId;
  preds: BlockId[];
  phis: Phi[];
  insns: IrInstruction[];
  term: IrTerminator;
}

/** A function in SSA form: every vreg has exactly one definition (a parameter, a phi or an instruction). */
export interface SsaFunction {
  readonly name: string;
  readonly params: VReg[];
  /** Blocks; `blocks[0]` is the entry, which has no predecessors. */
  blocks: SsaBlock[];
  readonly slots: StackSlot[];
  /** Next free vreg id. */
  vregCount: number;
  readonly loc?: SourceLocation;
}

/** A fresh vreg of `fn`. */
export function newVreg(fn: { vregCount: number }): VReg {
  return fn.vregCount++;
}

/** Blocks by id. */
export function blockMap(fn: SsaFunction): Map<BlockId, SsaBlock> {
  return new Map(fn.blocks.map((b) => [b.id, b]));
}

const domCache = new WeakMap<SsaFunction, { epoch: number; dom: Dominators }>();
const epochs = new WeakMap<SsaFunction, number>();

/** The dominator tree of an SSA function (cached until its control flow changes). */
export function ssaDominators(fn: SsaFunction): Dominators {
  const epoch = epochs.get(fn) ?? 0;
  const c = domCache.get(fn);
  if (c && c.epoch === epoch) return c.dom;
  const by = blockMap(fn);
  const dom = dominators({ entry: fn.blocks[0].id, succ: (id) => termSuccessors(by.get(id)!.term) });
  domCache.set(fn, { epoch, dom });
  return dom;
}

/** A fresh block id for `fn`. */
export function newBlockId(blocks: readonly { id: BlockId }[]): BlockId {
  let m = -1;
  for (const b of blocks) if (b.id > m) m = b.id;
  return m + 1;
}

/**
 * Recomputes every block's predecessor list, keeping phi arguments aligned (by predecessor id). Every
 * pass that changes the control flow calls this (it also invalidates cached dominators).
 */
export function recomputePreds(fn: SsaFunction): void {
  epochs.set(fn, (epochs.get(fn) ?? 0) + 1);
  const preds = new Map<BlockId, BlockId[]>(fn.blocks.map((b) => [b.id, []]));
  for (const b of fn.blocks) for (const s of termSuccessors(b.term)) preds.get(s)?.push(b.id);
  for (const b of fn.blocks) {
    const np = preds.get(b.id)!;
    if (b.phis.length) {
      const old = new Map(b.preds.map((p, i) => [p, i]));
      for (const phi of b.phis) phi.args = np.map((p) => phi.args[old.get(p) ?? -1] ?? { imm: 0n });
    }
    b.preds = np;
  }
}

/** Drops blocks unreachable from the entry (and their phi arguments in reachable blocks). */
export function removeUnreachable(fn: SsaFunction): boolean {
  const by = blockMap(fn);
  const seen = new Set<BlockId>();
  const stack = [fn.blocks[0].id];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const s of termSuccessors(by.get(id)!.term)) stack.push(s);
  }
  if (seen.size === fn.blocks.length) return false;
  fn.blocks = fn.blocks.filter((b) => seen.has(b.id));
  recomputePreds(fn);
  return true;
}

/** A copy of an IR function's blocks with a jump-free, predecessor-free entry and no equal-target branches. */
function normalize(fn: IrFunction): IrBlock[] {
  const blocks: IrBlock[] = fn.blocks.map((b) => ({
    id: b.id,
    instructions: [...b.instructions],
    terminator: b.terminator.op === "br" && b.terminator.then === b.terminator.else ? retarget(b.terminator, b.terminator.then, b.terminator.then) : b.terminator,
  }));
  const entry = blocks[0].id;
  if (blocks.some((b) => termSuccessors(b.terminator).includes(entry))) {
    blocks.unshift({ id: newBlockId(blocks), instructions: [], terminator: { op: "jmp", target: entry } });
  }
  return blocks;
}

/**
 * Builds pruned SSA form. Vregs are renumbered; a use no definition reaches reads 0 (a fresh vreg
 * set to 0 at the entry, or an immediate 0 in a phi).
 */
export function toSsa(fn: IrFunction): SsaFunction {
  const irBlocks = normalize(fn);
  const byId = new Map(irBlocks.map((b) => [b.id, b]));
  const dom = dominators({ entry: irBlocks[0].id, succ: (id) => termSuccessors(byId.get(id)!.terminator) });
  const live = new Set(dom.rpo);
  const blocks = dom.rpo.map((id) => byId.get(id)!);
  const n = fn.vregCount;

  // Liveness (live-in sets) for pruning.
  const W = (n + 31) >>> 5;
  const idx = new Map(blocks.map((b, i) => [b.id, i]));
  const gen = blocks.map(() => new Uint32Array(W));
  const kill = blocks.map(() => new Uint32Array(W));
  const has = (s: Uint32Array, v: number) => (s[v >>> 5] & (1 << (v & 31))) !== 0;
  const add = (s: Uint32Array, v: number) => { s[v >>> 5] |= 1 << (v & 31); };
  blocks.forEach((b, i) => {
    const see = (v: VReg) => { if (!has(kill[i], v)) add(gen[i], v); };
    for (const ins of b.instructions) {
      forEachUse(ins, see);
      const d = defOf(ins);
      if (d !== undefined) add(kill[i], d);
    }
    for (const u of termUsesOf(b.terminator)) see(u);
  });
  const liveIn = blocks.map(() => new Uint32Array(W));
  const succIdx = blocks.map((b) => termSuccessors(b.terminator).filter((s) => live.has(s)).map((s) => idx.get(s)!));
  const liveOut = new Uint32Array(W);
  for (let changed = true; changed;) {
    changed = false;
    for (let i = blocks.length - 1; i >= 0; i--) {
      liveOut.fill(0);
      for (const s of succIdx[i]) for (let w = 0; w < W; w++) liveOut[w] |= liveIn[s][w];
      for (let w = 0; w < W; w++) {
        const v = (gen[i][w] | (liveOut[w] & ~kill[i][w])) >>> 0;
        if (v !== liveIn[i][w]) {
          liveIn[i][w] = v;
          changed = true;
        }
      }
    }
  }

  // Phi placement at the iterated dominance frontier of each vreg's definitions, where it is live.
  const df = dominanceFrontiers(dom);
  const defBlocks: Set<BlockId>[] = Array.from({ length: n }, () => new Set());
  for (const p of fn.params) defBlocks[p].add(blocks[0].id);
  for (const b of blocks) for (const ins of b.instructions) {
    const d = defOf(ins);
    if (d !== undefined) defBlocks[d].add(b.id);
  }
  const phiVars = new Map<BlockId, VReg[]>(blocks.map((b) => [b.id, []]));
  for (let v = 0; v < n; v++) {
    if (defBlocks[v].size === 0) continue;
    const placed = new Set<BlockId>();
    const work = [...defBlocks[v]];
    while (work.length) {
      const x = work.pop()!;
      for (const y of df.get(x) ?? []) {
        if (placed.has(y) || !has(liveIn[idx.get(y)!], v)) continue;
        placed.add(y);
        phiVars.get(y)!.push(v);
        if (!defBlocks[v].has(y)) work.push(y);
      }
    }
  }

  // Renaming along the dominator tree.
  const out: SsaFunction = { name: fn.name, params: [], blocks: [], slots: fn.slots, vregCount: 0, ...(fn.loc ? { loc: fn.loc } : {}) };
  const stacks: VReg[][] = Array.from({ length: n }, () => []);
  const ssaBlocks = new Map<BlockId, SsaBlock>();
  for (const b of blocks) {
    const preds = dom.preds.get(b.id)!;
    const phis: Phi[] = phiVars.get(b.id)!.map(() => ({ dst: -1, args: preds.map(() => ({ imm: 0n })) }));
    ssaBlocks.set(b.id, { id: b.id, preds: [...preds], phis, insns: [], term: b.terminator });
  }
  let undef: VReg | undefined;
  const entryInsns: IrInstruction[] = [];
  const cur = (v: VReg): VReg => {
    const s = stacks[v];
    if (s.length) return s[s.length - 1];
    if (undef === undefined) {
      undef = newVreg(out);
      entryInsns.push({ op: "mov", dst: undef, src: { imm: 0n }, ...(fn.loc ? { loc: fn.loc } : {}) });
    }
    return undef;
  };
  const useCur = (v: VReg): Operand => ({ reg: cur(v) });
  for (const p of fn.params) {
    const nv = newVreg(out);
    stacks[p].push(nv);
    out.params.push(nv);
  }
  // Renaming down the dominator tree (as deep as the function is long: walkTree, no recursion).
  walkTree(blocks[0].id, (id) => dom.children.get(id)!, (id) => {
    const b = byId.get(id)!;
    const sb = ssaBlocks.get(id)!;
    const pushed: VReg[] = [];
    const define = (v: VReg): VReg => {
      const nv = newVreg(out);
      stacks[v].push(nv);
      pushed.push(v);
      return nv;
    };
    phiVars.get(id)!.forEach((v, i) => { sb.phis[i].dst = define(v); });
    for (const ins of b.instructions) {
      let r = mapUses(ins, useCur);
      const d = defOf(ins);
      if (d !== undefined) r = mapDef(r, define(d));
      sb.insns.push(r);
    }
    sb.term = mapTermUses(b.terminator, useCur);
    for (const s of termSuccessors(b.terminator)) {
      const succ = ssaBlocks.get(s)!;
      const k = succ.preds.indexOf(id);
      phiVars.get(s)!.forEach((v, i) => {
        succ.phis[i].args[k] = stacks[v].length ? { reg: stacks[v][stacks[v].length - 1] } : { imm: 0n };
      });
    }
    return () => {
      for (const v of pushed) stacks[v].pop();
    };
  });
  out.blocks = blocks.map((b) => ssaBlocks.get(b.id)!);
  if (entryInsns.length) out.blocks[0].insns = [...entryInsns, ...out.blocks[0].insns];
  return out;
}

/** Splits edges from blocks with several successors into blocks with phis; returns the new blocks' ids. */
function splitCriticalEdges(fn: SsaFunction): void {
  const by = blockMap(fn);
  let next = newBlockId(fn.blocks);
  for (const b of [...fn.blocks]) {
    if (b.phis.length === 0) continue;
    b.preds.forEach((p, k) => {
      const pb = by.get(p)!;
      if (termSuccessors(pb.term).length < 2) return;
      const id = next++;
      const nb: SsaBlock = { id, preds: [p], phis: [], insns: [], term: { op: "jmp", target: b.id, ...(pb.term.loc ? { loc: pb.term.loc } : {}) } };
      pb.term = retarget(pb.term, b.id, id);
      b.preds[k] = id;
      fn.blocks.push(nb);
      by.set(id, nb);
    });
  }
}

/** `dst = src` for every pair at once, as a sequence of moves (cycles broken with a fresh vreg). */
export function sequentialize(copies: { dst: VReg; src: Operand }[], fresh: () => VReg, loc?: SourceLocation): IrInstruction[] {
  const pending = copies.filter((c) => !("reg" in c.src && c.src.reg === c.dst)).map((c) => ({ ...c }));
  const out: IrInstruction[] = [];
  const mov = (dst: VReg, src: Operand): IrInstruction => ({ op: "mov", dst, src, ...(loc ? { loc } : {}) });
  while (pending.length) {
    const i = pending.findIndex((c) => !pending.some((o) => o !== c && "reg" in o.src && o.src.reg === c.dst));
    if (i >= 0) {
      const [c] = pending.splice(i, 1);
      out.push(mov(c.dst, c.src));
      continue;
    }
    // Only cycles remain: save one destination's current value and redirect its readers.
    const c = pending[0];
    const t = fresh();
    out.push(mov(t, { reg: c.dst }));
    for (const o of pending) if ("reg" in o.src && o.src.reg === c.dst) o.src = { reg: t };
  }
  return out;
}

/** Leaves SSA form: phis become copies at the end of each predecessor (critical edges split first). */
export function fromSsa(fn: SsaFunction): IrFunction {
  splitCriticalEdges(fn);
  const by = blockMap(fn);
  for (const b of fn.blocks) {
    if (b.phis.length === 0) continue;
    // A select: both predecessors are blocks entered only from the same branch, one of them empty.
    // The empty side's copies move before the branch (which then skips the other side: a triangle),
    // when neither the branch nor the other side reads what they write.
    if (b.preds.length === 2) {
      const [p0, p1] = b.preds.map((p) => by.get(p)!);
      const from = p0.preds.length === 1 && p1.preds.length === 1 && p0.preds[0] === p1.preds[0] ? by.get(p0.preds[0])! : undefined;
      if (from && from.term.op === "br" && p0.id !== p1.id) {
        const written = new Set(b.phis.map((phi) => phi.dst));
        const reads = (k: number) => b.phis.some((phi) => "reg" in phi.args[k] && written.has(phi.args[k].reg) && phi.args[k].reg !== phi.dst);
        const selfArg = (k: number) => b.phis.some((phi) => "reg" in phi.args[k] && phi.args[k].reg === phi.dst);
        const bodyReads = (blk: SsaBlock) => blk.insns.some((ins) => usesOf(ins).some((v) => written.has(v)));
        const termReads = termUsesOf(from.term).some((v) => written.has(v));
        // Hoist side k (its copies run on both paths), keep side 1 - k (its copies overwrite every phi).
        const canKeep = (keep: number) => !reads(keep) && !selfArg(keep) && !bodyReads(keep === 0 ? p0 : p1) && (keep === 0 ? p1 : p0).insns.length === 0;
        const k = canKeep(1) ? 0 : canKeep(0) ? 1 : -1;
        if (k >= 0 && !termReads) {
          const copies = b.phis.map((phi) => ({ dst: phi.dst, src: phi.args[k] }));
          appendAll(from.insns, sequentialize(copies, () => newVreg(fn), from.term.loc));
          const keep = 1 - k;
          appendAll(by.get(b.preds[keep])!.insns, sequentialize(b.phis.map((phi) => ({ dst: phi.dst, src: phi.args[keep] })), () => newVreg(fn), from.term.loc));
          b.phis = [];
          continue;
        }
      }
    }
    b.preds.forEach((p, k) => {
      const pb = by.get(p)!;
      const copies = b.phis.map((phi) => ({ dst: phi.dst, src: phi.args[k] }));
      appendAll(pb.insns, sequentialize(copies, () => newVreg(fn), pb.term.loc));
    });
    b.phis = [];
  }
  const used = new Set<number>();
  for (const b of fn.blocks) for (const ins of b.insns) if (ins.op === "stackAddr") used.add(ins.slot);
  return {
    name: fn.name,
    params: fn.params,
    blocks: fn.blocks.map((b) => ({ id: b.id, instructions: b.insns, terminator: b.term })),
    slots: fn.slots.filter((s) => used.has(s.id)),
    vregCount: fn.vregCount,
    ...(fn.loc ? { loc: fn.loc } : {}),
  };
}
