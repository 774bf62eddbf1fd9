// Loop nesting depth of each machine block (natural loops of DFS back edges), used to weigh
// spill costs and move priorities by how often code runs.

import { successors, type MFunction } from "./mir.js";

/** Loop depth per block id (0 outside loops). */
export function loopDepths(fn: MFunction): Map<number, number> {
  const depth = new Map<number, number>(fn.blocks.map((b) => [b.id, 0]));
  const preds = new Map<number, number[]>(fn.blocks.map((b) => [b.id, []]));
  for (const b of fn.blocks) for (const s of successors(b.term)) preds.get(s)?.push(b.id);
  // Iterative DFS to find back edges (edges to a block still on the DFS stack).
  const state = new Map<number, 1 | 2>();
  const backEdges: [number, number][] = [];
  const stack: { id: number; next: number }[] = [{ id: fn.blocks[0].id, next: 0 }];
  state.set(fn.blocks[0].id, 1);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const succ = successors(fn.byId.get(top.id)!.term);
    if (top.next < succ.length) {
      const s = succ[top.next++];
      const st = state.get(s);
      if (st === undefined) {
        state.set(s, 1);
        stack.push({ id: s, next: 0 });
      } else if (st === 1) backEdges.push([top.id, s]);
    } else {
      state.set(top.id, 2);
      stack.pop();
    }
  }
  for (const [tail, head] of backEdges) {
    const body = new Set<number>([head]);
    const work = [tail];
    while (work.length) {
      const x = work.pop()!;
      if (body.has(x)) continue;
      body.add(x);
      for (const p of preds.get(x) ?? []) work.push(p);
    }
    for (const x of body) depth.set(x, (depth.get(x) ?? 0) + 1);
  }
  return depth;
}
