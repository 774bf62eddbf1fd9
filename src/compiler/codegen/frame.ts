// Stack frame layout: front-end slots and 8-byte spill slots placed below r10 (largest alignment
// first), within eBPF's 512-byte limit per function.

import type { SourceLocation } from "../../asm/instruction.js";
import type { StackSlot } from "../ir.js";
import { CodegenError } from "./error.js";
import type { FrameRef } from "./mir.js";
import { slotWhere, type SlotLifetimes } from "./stack-lifetimes.js";

/** eBPF's stack size per function frame. */
export const MAX_STACK = 512;

/** Offsets (negative, relative to r10) of every slot. */
export interface FrameLayout {
  /** Bytes used, a multiple of 8. */
  size: number;
  slotOffset: Map<number, number>;
  spillOffset: number[];
  /** r10-relative offset of a frame reference. */
  offsetOf(ref: FrameRef): number;
}

/**
 * Lays out the frame: spill slots (8 bytes, 8-aligned, so the verifier tracks spilled registers
 * precisely) first, then front-end slots, largest first, each at the shallowest aligned place that no
 * slot live at the same time holds (`lifetimes`). Throws
 * CodegenError STACK_TOO_LARGE when the frame exceeds 512 bytes, naming the source lines of the values
 * live at the point that needs the most; INVALID_IR for bad slot sizes/alignments.
 */
export function layoutFrame(fn: string, slots: readonly StackSlot[], spills: number, loc: SourceLocation | undefined, lifetimes: SlotLifetimes): FrameLayout {
  const spillOffset: number[] = [];
  for (let i = 0; i < spills; i++) spillOffset.push(-8 * (i + 1));
  const base = 8 * spills;
  const ids = new Set<number>();
  for (const s of slots) {
    if (ids.has(s.id)) throw new CodegenError("INVALID_IR", fn, `stack slot id ${s.id} is declared twice`, loc);
    ids.add(s.id);
    if (!Number.isInteger(s.size) || s.size <= 0) throw new CodegenError("INVALID_IR", fn, `stack slot ${s.id} has size ${s.size}`, loc);
    if (![1, 2, 4, 8].includes(s.align)) throw new CodegenError("INVALID_IR", fn, `stack slot ${s.id} has alignment ${s.align}`, loc);
  }
  const { interferes } = lifetimes;
  // Each slot takes depths [end - size, end) below the spills; its address is r10 - (base + end).
  const order = [...slots].sort((a, b) => b.size - a.size || b.align - a.align || a.id - b.id);
  const placed: { id: number; lo: number; hi: number }[] = [];
  const slotOffset = new Map<number, number>();
  let deepest = 0;
  for (const s of order) {
    const others = placed.filter((p) => interferes(p.id, s.id));
    let best = Infinity;
    for (const start of [0, ...others.map((p) => p.hi)]) {
      const end = Math.ceil((start + s.size) / s.align) * s.align;
      if (end < best && others.every((p) => end <= p.lo || end - s.size >= p.hi)) best = end;
    }
    placed.push({ id: s.id, lo: best - s.size, hi: best });
    slotOffset.set(s.id, -(base + best));
    deepest = Math.max(deepest, best);
  }
  const size = Math.ceil((base + deepest) / 8) * 8;
  if (size > MAX_STACK) throw new CodegenError("STACK_TOO_LARGE", fn, tooLarge(size, slots, spills, loc, lifetimes), loc);
  return {
    size,
    slotOffset,
    spillOffset,
    offsetOf(ref) {
      if (ref.kind === "spill") return spillOffset[ref.index];
      const base = slotOffset.get(ref.slot);
      if (base === undefined) throw new CodegenError("INVALID_IR", fn, `stack slot ${ref.slot} is not declared`, loc);
      return base + ref.offset;
    },
  };
}

/** The over-limit message: the frame's size, then the source lines holding the most bytes at the peak. */
function tooLarge(size: number, slots: readonly StackSlot[], spills: number, loc: SourceLocation | undefined, lifetimes: SlotLifetimes): string {
  const byId = new Map(slots.map((s) => [s.id, s]));
  const live = lifetimes.peak.map((id) => byId.get(id)).filter((s) => s !== undefined);
  const lines = new Map<string, { bytes: number; names: Set<string> }>();
  for (const s of live) {
    const where = slotWhere(s.loc, loc);
    const l = lines.get(where) ?? { bytes: 0, names: new Set<string>() };
    l.bytes += s.size;
    if (s.name) l.names.add(s.name);
    lines.set(where, l);
  }
  const top = [...lines].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 4);
  const list = top.map(([where, l]) => `${where}${l.names.size ? ` (${[...l.names].slice(0, 2).join(", ")})` : ""} ${l.bytes} bytes`).join(", ");
  const more = lines.size > top.length ? ` and ${lines.size - top.length} more` : "";
  const spilled = spills ? `, plus ${spills * 8} bytes of spilled registers` : "";
  return `stack frame needs ${size} bytes, over the ${MAX_STACK}-byte limit; values live at the same time: ${list}${more}${spilled}. Keep fewer large values live at once, or keep large ones in a per-CPU array map`;
}
