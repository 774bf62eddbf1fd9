// Register allocation: interference graph over r0-r9 and virtual nodes, conservative move coalescing
// (Briggs/George), simplify/select graph coloring with biased colors, optimistic spilling, repeated.

import { CodegenError } from "./error.js";
import { Bitset, computeLiveness } from "./liveness.js";
import { loopDepths } from "./loops.js";
import { FIRST_VIRTUAL, FP, REGISTER_COUNT, termUses, type MFunction, type Node } from "./mir.js";
import { spillGroups } from "./spill.js";

const K = REGISTER_COUNT;
/** Colour preference for nodes without a move partner: argument/scratch registers first. */
const ORDER = [1, 2, 3, 4, 5, 0, 6, 7, 8, 9];

interface Move {
  dst: Node;
  src: Node;
  weight: number;
}

/** The interference graph of one allocation round. */
export class InterferenceGraph {
  readonly n: number;
  private readonly w: number;
  private readonly bits: Uint32Array;
  /** Neighbours of virtual nodes (may contain nodes merged away; resolve with `find`). */
  readonly adj: Node[][];
  readonly degree: Int32Array;
  readonly present: Uint8Array;
  readonly cost: Float64Array;
  readonly moves: Move[] = [];
  readonly alias: Int32Array;

  constructor(n: number) {
    this.n = n;
    this.w = (n + 31) >>> 5;
    this.bits = new Uint32Array(n * this.w);
    this.adj = Array.from({ length: n }, () => []);
    this.degree = new Int32Array(n);
    this.present = new Uint8Array(n);
    this.cost = new Float64Array(n);
    this.alias = new Int32Array(n).map((_, i) => i);
  }

  interferes(a: Node, b: Node): boolean {
    return (this.bits[a * this.w + (b >>> 5)] & (1 << (b & 31))) !== 0;
  }

  addEdge(a: Node, b: Node): void {
    if (a === b || (a < K && b < K) || a === FP || b === FP || this.interferes(a, b)) return;
    this.bits[a * this.w + (b >>> 5)] |= 1 << (b & 31);
    this.bits[b * this.w + (a >>> 5)] |= 1 << (a & 31);
    if (a >= K) {
      this.adj[a].push(b);
      this.degree[a]++;
    }
    if (b >= K) {
      this.adj[b].push(a);
      this.degree[b]++;
    }
  }

  find(x: Node): Node {
    while (this.alias[x] !== x) {
      this.alias[x] = this.alias[this.alias[x]];
      x = this.alias[x];
    }
    return x;
  }

  /** Live neighbours of a (representative) virtual node. */
  neighbours(x: Node): Node[] {
    const seen = new Set<Node>();
    for (const t of this.adj[x]) {
      const r = this.find(t);
      if (r === t && r !== x) seen.add(r);
    }
    return [...seen];
  }
}

/** Builds the interference graph, move list and spill costs from liveness. */
export function buildGraph(fn: MFunction): InterferenceGraph {
  const g = new InterferenceGraph(fn.nodeCount);
  const { liveOut } = computeLiveness(fn);
  const depth = loopDepths(fn);
  fn.blocks.forEach((b, bi) => {
    const weight = 10 ** Math.min(depth.get(b.id) ?? 0, 5);
    const live: Bitset = liveOut[bi].copy();
    for (const u of termUses(b.term)) {
      if (u === FP) continue;
      live.add(u);
      g.present[u] = 1;
      g.cost[u] += weight;
    }
    for (let i = b.insns.length - 1; i >= 0; i--) {
      const ins = b.insns[i];
      if (ins.move) {
        live.delete(ins.src!);
        g.moves.push({ dst: ins.dst!, src: ins.src!, weight });
      }
      for (const d of ins.defs) {
        if (d === FP) continue;
        g.present[d] = 1;
        g.cost[d] += weight;
        live.forEach((l) => g.addEdge(d, l));
      }
      for (const d of ins.defs) live.delete(d);
      for (const u of ins.uses) {
        if (u === FP) continue;
        g.present[u] = 1;
        g.cost[u] += weight;
        live.add(u);
      }
    }
  });
  g.moves.sort((a, b) => b.weight - a.weight);
  return g;
}

/** Coalesces move-related nodes when it cannot make the graph harder to colour; returns moves removed. */
export function coalesce(g: InterferenceGraph): number {
  let merged = 0;
  const done = new Uint8Array(g.moves.length);
  let changed = true;
  while (changed) {
    changed = false;
    g.moves.forEach((mv, i) => {
      if (done[i]) return;
      let x = g.find(mv.dst);
      let y = g.find(mv.src);
      if (x === y) {
        done[i] = 1;
        return;
      }
      if (y < K) [x, y] = [y, x];
      if (y < K || g.interferes(x, y)) {
        done[i] = 1;
        return;
      }
      const ok = x < K ? george(g, x, y) : briggs(g, x, y);
      if (!ok) return;
      combine(g, x, y);
      done[i] = 1;
      merged++;
      changed = true;
    });
  }
  return merged;
}

function george(g: InterferenceGraph, r: Node, y: Node): boolean {
  for (const t of g.neighbours(y)) {
    if (t < K) continue;
    if (g.degree[t] >= K && !g.interferes(t, r)) return false;
  }
  return true;
}

function briggs(g: InterferenceGraph, x: Node, y: Node): boolean {
  const all = new Set([...g.neighbours(x), ...g.neighbours(y)]);
  let significant = 0;
  for (const t of all) {
    if (t < K) significant++;
    else {
      const d = g.degree[t] - (g.interferes(t, x) && g.interferes(t, y) ? 1 : 0);
      if (d >= K) significant++;
    }
    if (significant >= K) return false;
  }
  return true;
}

function combine(g: InterferenceGraph, x: Node, y: Node): void {
  const ns = g.neighbours(y);
  g.alias[y] = x;
  for (const t of ns) {
    g.addEdge(x, t);
    if (t >= K) g.degree[t]--;
  }
  g.cost[x] += g.cost[y];
}

/** Result of register allocation. */
export interface Allocation {
  /** Register (0..9) of every node; -1 for nodes that do not occur. r10 maps to 10. */
  colors: Int8Array;
  /** Allocation rounds (1 + number of spill rewrites). */
  rounds: number;
  /** Nodes spilled to the stack (or re-materialized), over all rounds. */
  spilled: number;
  /** Moves removed by coalescing in the final round. */
  coalesced: number;
}

/** Allocates registers for every node of `fn`, rewriting it with spill code as needed. */
export function allocateRegisters(fn: MFunction): Allocation {
  let spilled = 0;
  for (let round = 1; ; round++) {
    if (round > 32) throw new CodegenError("REGALLOC_FAILED", fn.name, "register allocation did not converge", fn.loc);
    const g = buildGraph(fn);
    const coalesced = coalesce(g);
    const { colors, spills } = select(g, fn);
    if (spills.length === 0) {
      const out = new Int8Array(fn.nodeCount).fill(-1);
      for (let v = 0; v < fn.nodeCount; v++) {
        if (v < K) out[v] = v;
        else if (v === FP) out[v] = 10;
        else if (g.present[v]) out[v] = colors[g.find(v)];
      }
      return { colors: out, rounds: round, spilled, coalesced };
    }
    const groups = spills.map((s) => {
      const members: Node[] = [];
      for (let v = FIRST_VIRTUAL; v < fn.nodeCount; v++) if (g.present[v] && g.find(v) === s) members.push(v);
      return members;
    });
    spilled += groups.reduce((a, m) => a + m.length, 0);
    spillGroups(fn, groups, (a, b) => g.interferes(spills[a], spills[b]));
  }
}

function select(g: InterferenceGraph, fn: MFunction): { colors: Int8Array; spills: Node[] } {
  const nodes: Node[] = [];
  for (let v = FIRST_VIRTUAL; v < g.n; v++) if (g.present[v] && g.find(v) === v) nodes.push(v);
  // A coalesced group may be spilled unless all its members are spill temporaries already.
  const spillable = new Set<Node>();
  for (let u = FIRST_VIRTUAL; u < g.n; u++) if (g.present[u] && !fn.noSpill.has(u)) spillable.add(g.find(u));
  const noSpill = new Set<Node>(nodes.filter((v) => !spillable.has(v)));
  const nb = new Map<Node, Node[]>(nodes.map((v) => [v, g.neighbours(v)]));
  const deg = new Map<Node, number>(nodes.map((v) => [v, nb.get(v)!.length]));
  const removed = new Set<Node>();
  const stack: Node[] = [];
  const remaining = new Set(nodes);
  const removeNode = (v: Node) => {
    remaining.delete(v);
    removed.add(v);
    stack.push(v);
    for (const t of nb.get(v)!) if (t >= K && !removed.has(t)) deg.set(t, deg.get(t)! - 1);
  };
  while (remaining.size) {
    let progress = true;
    while (progress) {
      progress = false;
      for (const v of remaining) {
        if (deg.get(v)! < K) {
          removeNode(v);
          progress = true;
        }
      }
    }
    if (!remaining.size) break;
    let best = -1;
    let bestScore = Infinity;
    for (const v of remaining) {
      const score = noSpill.has(v) ? Infinity : g.cost[v] / Math.max(1, deg.get(v)!);
      if (best < 0 || score < bestScore) {
        best = v;
        bestScore = score;
      }
    }
    removeNode(best);
  }

  // Move partners per node, heaviest first (g.moves is sorted by weight).
  const partners = new Map<Node, Node[]>();
  for (const mv of g.moves) {
    const a = g.find(mv.dst);
    const b = g.find(mv.src);
    if (a === b) continue;
    if (a >= K) (partners.get(a) ?? partners.set(a, []).get(a)!).push(b);
    if (b >= K) (partners.get(b) ?? partners.set(b, []).get(b)!).push(a);
  }
  const colors = new Int8Array(g.n).fill(-1);
  for (let r = 0; r < K; r++) colors[r] = r;
  const spills: Node[] = [];
  while (stack.length) {
    const v = stack.pop()!;
    let forbidden = 0;
    for (const t of nb.get(v)!) {
      const c = colors[g.find(t)];
      if (c >= 0) forbidden |= 1 << c;
    }
    let chosen = -1;
    for (const p of partners.get(v) ?? []) {
      const c = colors[p];
      if (c >= 0 && !(forbidden & (1 << c))) {
        chosen = c;
        break;
      }
    }
    if (chosen < 0) {
      // Avoid colours that uncoloured partners cannot take (they interfere with a node of that colour).
      let avoid = 0;
      for (const p of partners.get(v) ?? []) {
        if (p < K || colors[p] >= 0) continue;
        for (const t of nb.get(p) ?? []) {
          const c = colors[g.find(t)];
          if (c >= 0) avoid |= 1 << c;
        }
      }
      for (const c of ORDER) if (!(forbidden & (1 << c)) && !(avoid & (1 << c))) {
        chosen = c;
        break;
      }
      if (chosen < 0) for (const c of ORDER) if (!(forbidden & (1 << c))) {
        chosen = c;
        break;
      }
    }
    if (chosen < 0) spills.push(v);
    else colors[v] = chosen;
  }
  return { colors, spills };
}
