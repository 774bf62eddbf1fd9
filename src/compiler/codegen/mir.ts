// Machine IR: eBPF instruction templates over allocation nodes (physical r0-r9 or virtual registers),
// the form that liveness, register allocation and spilling work on before final emission.

import type { Instruction, SourceLocation } from "../../asm/instruction.js";
import type { AluBits, BlockId, Cond } from "../ir.js";
import type { CoreAccess } from "../module.js";

/**
 * An allocation node: 0..9 are the physical registers r0..r9, {@link FP} is the read-only frame
 * pointer r10 (never allocated, never tracked by liveness), and nodes from {@link FIRST_VIRTUAL} on
 * are virtual registers (IR vreg v is node FIRST_VIRTUAL + v; temporaries follow).
 */
export type Node = number;

/** r10, the frame pointer. */
export const FP = 10;
/** First virtual node. */
export const FIRST_VIRTUAL = 11;
/** Registers the allocator may assign: r0..r9. */
export const REGISTER_COUNT = 10;
/** Argument registers r1..r5 (and r0) are clobbered by calls. */
export const CALLER_SAVED: readonly Node[] = [0, 1, 2, 3, 4, 5];

/** A stack location resolved by frame layout: a front-end slot or a spill slot, plus a byte offset. */
export type FrameRef = { readonly kind: "slot"; readonly slot: number; readonly offset: number } | { readonly kind: "spill"; readonly index: number };

/**
 * One machine instruction. `insn` is the encoded template: its `dst`/`src` register fields are filled
 * from the nodes `dst`/`src` once registers are assigned. `defs`/`uses` list every node written/read
 * (including implicit ones such as a call's clobbers and argument registers).
 */
export interface MInsn {
  insn: Instruction;
  dst?: Node;
  src?: Node;
  defs: Node[];
  uses: Node[];
  /** A plain 64-bit register copy `dst = src`: a coalescing candidate. */
  move?: boolean;
  /** Defines `dst` from constants or symbols only, so it can be re-emitted instead of spilled. */
  remat?: boolean;
  /** `dst = r10 + offset of frame` (two instructions at emission: mov + add). */
  frameAddr?: FrameRef;
  /** r10-based load/store/atomic: the frame offset is added to `insn.offset` at emission. */
  frame?: FrameRef;
  /** Writes or reads memory, calls or otherwise must not be deleted even if its defs are dead. */
  effect?: boolean;
  core?: CoreAccess;
  loc?: SourceLocation;
}

/** A block terminator: conditional branch, jump or return (`exit`, which reads r0). */
export type MTerm =
  | { kind: "br"; cond: Cond; bits: AluBits; a: Node; b: Node | bigint; then: BlockId; else: BlockId; loc?: SourceLocation }
  | { kind: "jmp"; target: BlockId; loc?: SourceLocation }
  | { kind: "exit"; loc?: SourceLocation };

/** A machine basic block. */
export interface MBlock {
  readonly id: BlockId;
  insns: MInsn[];
  term: MTerm;
}

/** A function in machine IR. `blocks[0]` is the entry; `byId` finds blocks by IR block id. */
export interface MFunction {
  readonly name: string;
  blocks: MBlock[];
  byId: Map<BlockId, MBlock>;
  /** Number of nodes in use (next fresh node id). */
  nodeCount: number;
  /** Nodes that must not be spilled (spill/reload temporaries, whose ranges are already minimal). */
  noSpill: Set<Node>;
  /** Number of spill slots allocated so far (8 bytes each). */
  spillSlots: number;
  loc?: SourceLocation;
}

/** A fresh virtual node. */
export function newNode(fn: MFunction): Node {
  return fn.nodeCount++;
}

/** Nodes a terminator reads. */
export function termUses(t: MTerm): Node[] {
  if (t.kind === "br") return typeof t.b === "bigint" ? [t.a] : [t.a, t.b];
  if (t.kind === "exit") return [0];
  return [];
}

/** Successor block ids of a terminator. */
export function successors(t: MTerm): BlockId[] {
  if (t.kind === "br") return t.then === t.else ? [t.then] : [t.then, t.else];
  if (t.kind === "jmp") return [t.target];
  return [];
}
