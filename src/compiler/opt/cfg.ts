// Control-flow graph utilities shared by the IR passes: successors, reverse post-order, immediate
// dominators (Cooper-Harvey-Kennedy), dominance frontiers and natural loops over block ids.

import type { BlockId, IrTerminator } from "../ir.js";

/** Successor block ids of a terminator (a branch with equal targets has one). */
export function termSuccessors(t: IrTerminator): BlockId[] {
  if (t.op === "br") return t.then === t.else ? [t.then] : [t.then, t.else];
  if (t.op === "jmp") return [t.target];
  return [];
}

/** The terminator with every edge to `from` sent to `to` instead (a branch whose targets meet becomes a jump). */
export function retarget(t: IrTerminator, from: BlockId, to: BlockId): IrTerminator {
  if (t.op === "jmp") return t.target === from ? { ...t, target: to } : t;
  if (t.op === "br") {
    const then = t.then === from ? to : t.then;
    const els = t.else === from ? to : t.else;
    if (then === els) return { op: "jmp", target: then, ...(t.loc ? { loc: t.loc } : {}) };
    return { ...t, then, else: els };
  }
  return t;
}

/** A graph view: the entry and each block's successors. */
export interface Graph {
  readonly entry: BlockId;
  succ(id: BlockId): readonly BlockId[];
}

/** Blocks reachable from the entry in reverse post-order (entry first). */
export function reversePostOrder(g: Graph): BlockId[] {
  const post: BlockId[] = [];
  const seen = new Set<BlockId>([g.entry]);
  const stack: { id: BlockId; next: number; succ: readonly BlockId[] }[] = [{ id: g.entry, next: 0, succ: g.succ(g.entry) }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.next < top.succ.length) {
      const s = top.succ[top.next++];
      if (!seen.has(s)) {
        seen.add(s);
        stack.push({ id: s, next: 0, succ: g.succ(s) });
      }
    } else {
      post.push(top.id);
      stack.pop();
    }
  }
  return post.reverse();
}

/** Dominator information of the reachable part of a graph. */
export interface Dominators {
  /** Reachable blocks in reverse post-order. */
  readonly rpo: readonly BlockId[];
  /** Immediate dominator (the entry maps to itself). */
  readonly idom: ReadonlyMap<BlockId, BlockId>;
  /** Dominator-tree children, in reverse post-order. */
  readonly children: ReadonlyMap<BlockId, readonly BlockId[]>;
  /** Predecessors among reachable blocks. */
  readonly preds: ReadonlyMap<BlockId, readonly BlockId[]>;
  /** Whether `a` dominates `b` (reflexive). */
  dominates(a: BlockId, b: BlockId): boolean;
}

/** Computes dominators with the iterative algorithm of Cooper, Harvey and Kennedy. */
export function dominators(g: Graph): Dominators {
  const rpo = reversePostOrder(g);
  const index = new Map<BlockId, number>(rpo.map((b, i) => [b, i]));
  const preds = new Map<BlockId, BlockId[]>(rpo.map((b) => [b, []]));
  for (const b of rpo) for (const s of g.succ(b)) preds.get(s)?.push(b);
  const idom = new Int32Array(rpo.length).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a > b) a = idom[a];
      while (b > a) b = idom[b];
    }
    return a;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = 1; i < rpo.length; i++) {
      let nd = -1;
      for (const p of preds.get(rpo[i])!) {
        const pi = index.get(p)!;
        if (idom[pi] < 0) continue;
        nd = nd < 0 ? pi : intersect(pi, nd);
      }
      if (nd !== idom[i]) {
        idom[i] = nd;
        changed = true;
      }
    }
  }
  const idomMap = new Map<BlockId, BlockId>();
  const children = new Map<BlockId, BlockId[]>(rpo.map((b) => [b, []]));
  rpo.forEach((b, i) => {
    idomMap.set(b, rpo[idom[i]]);
    if (i > 0) children.get(rpo[idom[i]])!.push(b);
  });
  // Pre/post numbering of the dominator tree for O(1) dominance queries.
  const pre = new Map<BlockId, number>();
  const post = new Map<BlockId, number>();
  let clock = 0;
  const stack: { id: BlockId; k: number }[] = [{ id: rpo[0], k: 0 }];
  pre.set(rpo[0], clock++);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const ch = children.get(top.id)!;
    if (top.k < ch.length) {
      const c = ch[top.k++];
      pre.set(c, clock++);
      stack.push({ id: c, k: 0 });
    } else {
      post.set(top.id, clock++);
      stack.pop();
    }
  }
  return {
    rpo,
    idom: idomMap,
    children,
    preds,
    dominates(a, b) {
      const pa = pre.get(a), pb = pre.get(b);
      if (pa === undefined || pb === undefined) return false;
      return pa <= pb && post.get(b)! <= post.get(a)!;
    },
  };
}

/** Dominance frontier of every reachable block. */
export function dominanceFrontiers(d: Dominators): Map<BlockId, Set<BlockId>> {
  const df = new Map<BlockId, Set<BlockId>>(d.rpo.map((b) => [b, new Set()]));
  for (const b of d.rpo) {
    const ps = d.preds.get(b)!;
    if (ps.length < 2) continue;
    for (const p of ps) {
      let runner = p;
      while (runner !== d.idom.get(b)) {
        df.get(runner)!.add(b);
        const up = d.idom.get(runner)!;
        if (up === runner) break;
        runner = up;
      }
    }
  }
  return df;
}

/** A natural loop: its header and every block of its body (header included). */
export interface Loop {
  readonly header: BlockId;
  readonly blocks: Set<BlockId>;
  /** Sources of the back edges to the header. */
  readonly latches: BlockId[];
}

/** Natural loops (back edges to a dominating header; loops sharing a header are merged), innermost first. */
export function naturalLoops(g: Graph, d: Dominators): Loop[] {
  const byHeader = new Map<BlockId, Loop>();
  for (const b of d.rpo) {
    for (const s of g.succ(b)) {
      if (!d.dominates(s, b)) continue;
      let loop = byHeader.get(s);
      if (!loop) {
        loop = { header: s, blocks: new Set([s]), latches: [] };
        byHeader.set(s, loop);
      }
      loop.latches.push(b);
      const work = [b];
      while (work.length) {
        const x = work.pop()!;
        if (loop.blocks.has(x)) continue;
        loop.blocks.add(x);
        for (const p of d.preds.get(x) ?? []) work.push(p);
      }
    }
  }
  return [...byHeader.values()].sort((a, b) => a.blocks.size - b.blocks.size);
}
