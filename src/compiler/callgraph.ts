// Checks over the bpf-to-bpf call graph of a compiled module: no recursion (the verifier refuses a
// call cycle), and the kernel's combined stack limit over every call chain from a program.

import type { SourceLocation } from "../asm/instruction.js";
import type { IrFunction } from "./ir.js";

/** The kernel's limit on the stack of a whole call chain (MAX_BPF_STACK). */
export const MAX_COMBINED_STACK = 512;

/** A function of the module with its frame size after code generation. */
export interface CallGraphNode {
  readonly ir: IrFunction;
  readonly stackSize: number;
}

/** A problem found, at a call (or the program's declaration). */
export interface CallGraphProblem {
  readonly message: string;
  readonly loc: SourceLocation | undefined;
}

/** The kernel rounds each frame of a call chain up to 32 bytes (interpreter rule; the JIT's 16 is laxer). */
function frameBytes(n: number): number {
  return Math.ceil(Math.max(n, 1) / 32) * 32;
}

/** Calls made by `fn`, in order, with their locations. */
function callsOf(fn: IrFunction): { callee: string; loc: SourceLocation | undefined }[] {
  const out: { callee: string; loc: SourceLocation | undefined }[] = [];
  for (const b of fn.blocks) for (const i of b.instructions) if (i.op === "callFn" || i.op === "funcAddr") out.push({ callee: i.fn, loc: i.loc });
  return out;
}

/**
 * Recursion anywhere in the graph, then, for each program in `programs`, the deepest stack over its
 * call chains (a callback taken with funcAddr counts as a call: the helper calls it from this frame).
 */
export function checkCallGraph(programs: readonly string[], nodes: ReadonlyMap<string, CallGraphNode>): CallGraphProblem[] {
  const problems: CallGraphProblem[] = [];
  const edges = new Map<string, ReturnType<typeof callsOf>>();
  for (const [name, n] of nodes) edges.set(name, callsOf(n.ir));
  // Cycles: depth-first, reporting each back edge once, at its call, naming the chain.
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    state.set(name, "open");
    path.push(name);
    for (const e of edges.get(name) ?? []) {
      const s = state.get(e.callee);
      if (s === "open") {
        const chain = [...path.slice(path.indexOf(e.callee)), e.callee];
        const key = chain.join(">");
        if (!seen.has(key)) {
          seen.add(key);
          problems.push({ message: `recursive call of ${e.callee} (${chain.join(" → ")}): eBPF has no recursion`, loc: e.loc });
        }
      } else if (s === undefined && nodes.has(e.callee)) visit(e.callee);
    }
    path.pop();
    state.set(name, "done");
  };
  for (const p of programs) if (!state.has(p)) visit(p);
  for (const name of nodes.keys()) if (!state.has(name)) visit(name);
  if (problems.length) return problems;
  // Stack: the deepest chain from each program (the graph is acyclic now).
  const deepest = new Map<string, { bytes: number; chain: string[] }>();
  const depth = (name: string): { bytes: number; chain: string[] } => {
    const have = deepest.get(name);
    if (have) return have;
    let best = { bytes: 0, chain: [] as string[] };
    for (const e of edges.get(name) ?? []) {
      if (!nodes.has(e.callee)) continue;
      const d = depth(e.callee);
      if (d.bytes > best.bytes) best = d;
    }
    const r = { bytes: frameBytes(nodes.get(name)!.stackSize) + best.bytes, chain: [name, ...best.chain] };
    deepest.set(name, r);
    return r;
  };
  for (const p of programs) {
    if (!nodes.has(p)) continue;
    const d = depth(p);
    if (d.bytes > MAX_COMBINED_STACK && d.chain.length > 1) {
      const parts = d.chain.map((n) => `${n} ${frameBytes(nodes.get(n)!.stackSize)}`).join(", ");
      problems.push({
        message: `the call chain ${d.chain.join(" → ")} needs ${d.bytes} bytes of stack (${parts}); the kernel allows ${MAX_COMBINED_STACK} bytes over a whole chain: use smaller locals, or keep large structs in a per-CPU array map`,
        loc: nodes.get(p)!.ir.loc,
      });
    }
  }
  return problems;
}
