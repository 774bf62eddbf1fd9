// Liveness analysis over machine IR: per-block live-in/live-out sets of allocation nodes as bitsets,
// solved backwards to a fixed point; also the dead-code elimination that uses it.

import { FP, successors, termUses, type MFunction, type Node } from "./mir.js";

/** A fixed-size set of small non-negative integers. */
export class Bitset {
  readonly words: Uint32Array;
  constructor(size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }
  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }
  add(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  delete(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  copy(): Bitset {
    const b = new Bitset(0);
    (b as { words: Uint32Array }).words = this.words.slice();
    return b;
  }
  /** this |= other; returns whether anything changed. */
  union(other: Bitset): boolean {
    let changed = false;
    for (let i = 0; i < this.words.length; i++) {
      const v = (this.words[i] | other.words[i]) >>> 0;
      if (v !== this.words[i]) {
        this.words[i] = v;
        changed = true;
      }
    }
    return changed;
  }
  /** Calls f for every member, in increasing order. */
  forEach(f: (i: number) => void): void {
    for (let w = 0; w < this.words.length; w++) {
      let bits = this.words[w];
      while (bits !== 0) {
        const low = bits & -bits;
        f((w << 5) + (31 - Math.clz32(low)));
        bits ^= low;
      }
    }
  }
}

/** Live-in and live-out sets per block, indexed like `fn.blocks`. */
export interface Liveness {
  liveIn: Bitset[];
  liveOut: Bitset[];
}

/** Computes liveness of every node (r10 excluded) at block boundaries. */
export function computeLiveness(fn: MFunction): Liveness {
  const n = fn.nodeCount;
  const index = new Map(fn.blocks.map((b, i) => [b.id, i]));
  const gen: Bitset[] = [];
  const kill: Bitset[] = [];
  for (const b of fn.blocks) {
    const g = new Bitset(n);
    const k = new Bitset(n);
    for (const u of termUses(b.term)) if (u !== FP) g.add(u);
    for (let i = b.insns.length - 1; i >= 0; i--) {
      const ins = b.insns[i];
      for (const d of ins.defs) {
        if (d === FP) continue;
        g.delete(d);
        k.add(d);
      }
      for (const u of ins.uses) if (u !== FP) g.add(u);
    }
    gen.push(g);
    kill.push(k);
  }
  const liveIn = fn.blocks.map(() => new Bitset(n));
  const liveOut = fn.blocks.map(() => new Bitset(n));
  const succ = fn.blocks.map((b) => successors(b.term).map((s) => index.get(s)!));
  let changed = true;
  while (changed) {
    changed = false;
    for (let bi = fn.blocks.length - 1; bi >= 0; bi--) {
      const out = liveOut[bi];
      for (const s of succ[bi]) out.union(liveIn[s]);
      // in = gen | (out & ~kill)
      const inn = liveIn[bi];
      const g = gen[bi].words, k = kill[bi].words, o = out.words, w = inn.words;
      for (let i = 0; i < w.length; i++) {
        const v = (g[i] | (o[i] & ~k[i])) >>> 0;
        if (v !== w[i]) {
          w[i] = v;
          changed = true;
        }
      }
    }
  }
  return { liveIn, liveOut };
}

/**
 * Removes instructions without effects whose every definition is dead, repeating until none is left;
 * returns the number removed.
 */
export function eliminateDeadCode(fn: MFunction): number {
  let removed = 0;
  for (;;) {
    const { liveOut } = computeLiveness(fn);
    let round = 0;
    fn.blocks.forEach((b, bi) => {
      const live = liveOut[bi].copy();
      for (const u of termUses(b.term)) if (u !== FP) live.add(u);
      const keep: boolean[] = new Array(b.insns.length).fill(true);
      for (let i = b.insns.length - 1; i >= 0; i--) {
        const ins = b.insns[i];
        const dead = !ins.effect && ins.defs.length > 0 && ins.defs.every((d: Node) => d !== FP && !live.has(d));
        if (dead) {
          keep[i] = false;
          round++;
          continue;
        }
        for (const d of ins.defs) live.delete(d);
        for (const u of ins.uses) if (u !== FP) live.add(u);
      }
      if (keep.includes(false)) b.insns = b.insns.filter((_, i) => keep[i]);
    });
    removed += round;
    if (round === 0) return removed;
  }
}
