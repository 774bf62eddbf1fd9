// Block layout: orders machine blocks so that the preferred successor (a branch's `else`, a jump's
// target) follows its predecessor and falls through; empty forwarding blocks are threaded away.

import type { BlockId } from "../ir.js";
import { successors, type MFunction } from "./mir.js";

/**
 * Resolves chains of blocks that are empty and end in `jmp` to their final target. `isEmpty` says
 * whether a block emits no instruction before its terminator.
 */
export function threadJumps(fn: MFunction, isEmpty: (id: BlockId) => boolean): (id: BlockId) => BlockId {
  const memo = new Map<BlockId, BlockId>();
  return function resolve(id: BlockId): BlockId {
    const known = memo.get(id);
    if (known !== undefined) return known;
    let cur = id;
    const seen = new Set<BlockId>();
    for (;;) {
      const b = fn.byId.get(cur)!;
      if (b.term.kind !== "jmp" || !isEmpty(cur) || seen.has(cur)) break;
      seen.add(cur);
      cur = b.term.target;
    }
    memo.set(id, cur);
    return cur;
  };
}

/**
 * The emission order: starting at the entry, each block is followed by its preferred successor when
 * that is still unplaced (a branch's `else`, else its `then`; a jump's target); otherwise by the next
 * unplaced block in depth-first order. Blocks never reached through `resolve` are left out.
 */
export function orderBlocks(fn: MFunction, resolve: (id: BlockId) => BlockId): BlockId[] {
  const entry = fn.blocks[0].id;
  // Reachable blocks (after threading) in depth-first preorder, the fallback order.
  const dfs: BlockId[] = [];
  const seen = new Set<BlockId>();
  const stack = [entry];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    dfs.push(id);
    const succ = successors(fn.byId.get(id)!.term).map(resolve);
    for (let i = succ.length - 1; i >= 0; i--) if (!seen.has(succ[i])) stack.push(succ[i]);
  }
  const placed = new Set<BlockId>();
  const order: BlockId[] = [];
  let cursor = 0;
  let cur: BlockId | undefined = entry;
  while (cur !== undefined) {
    order.push(cur);
    placed.add(cur);
    const t = fn.byId.get(cur)!.term;
    let next: BlockId | undefined;
    if (t.kind === "br") {
      const e = resolve(t.else);
      const th = resolve(t.then);
      // A successor that itself continues to the other successor goes first (a triangle: the branch
      // skips it, it falls through to the join), e.g. `x = a; if (c) goto J; x = b; J:`.
      const continuesTo = (x: BlockId, y: BlockId): boolean =>
        !placed.has(x) && !placed.has(y) && x !== y && successors(fn.byId.get(x)!.term).some((s) => resolve(s) === y);
      if (continuesTo(th, e) && !continuesTo(e, th)) next = th;
      else next = !placed.has(e) ? e : !placed.has(th) ? th : undefined;
    } else if (t.kind === "jmp") {
      const tg = resolve(t.target);
      next = placed.has(tg) ? undefined : tg;
    }
    if (next === undefined) {
      while (cursor < dfs.length && placed.has(dfs[cursor])) cursor++;
      next = cursor < dfs.length ? dfs[cursor] : undefined;
    }
    cur = next;
  }
  return order;
}
