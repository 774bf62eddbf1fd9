// Stack frame layout: front-end slots and 8-byte spill slots placed below r10 (largest alignment
// first), within eBPF's 512-byte limit per function.

import type { SourceLocation } from "../../asm/instruction.js";
import type { StackSlot } from "../ir.js";
import { CodegenError } from "./error.js";
import type { FrameRef } from "./mir.js";

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
 * precisely) first, then front-end slots by decreasing alignment (ties by id). Throws CodegenError
 * STACK_TOO_LARGE when the frame exceeds 512 bytes, INVALID_IR for bad slot sizes/alignments.
 */
export function layoutFrame(fn: string, slots: readonly StackSlot[], spills: number, loc?: SourceLocation): FrameLayout {
  let top = 0;
  const spillOffset: number[] = [];
  for (let i = 0; i < spills; i++) {
    top += 8;
    spillOffset.push(-top);
  }
  const ids = new Set<number>();
  for (const s of slots) {
    if (ids.has(s.id)) throw new CodegenError("INVALID_IR", fn, `stack slot id ${s.id} is declared twice`, loc);
    ids.add(s.id);
    if (!Number.isInteger(s.size) || s.size <= 0) throw new CodegenError("INVALID_IR", fn, `stack slot ${s.id} has size ${s.size}`, loc);
    if (![1, 2, 4, 8].includes(s.align)) throw new CodegenError("INVALID_IR", fn, `stack slot ${s.id} has alignment ${s.align}`, loc);
  }
  const order = [...slots].sort((a, b) => b.align - a.align || a.id - b.id);
  const slotOffset = new Map<number, number>();
  for (const s of order) {
    top += s.size;
    top = Math.ceil(top / s.align) * s.align;
    slotOffset.set(s.id, -top);
  }
  const size = Math.ceil(top / 8) * 8;
  if (size > MAX_STACK) {
    const detail = order.map((s) => `${s.name ?? `#${s.id}`} ${s.size}`).join(", ");
    throw new CodegenError(
      "STACK_TOO_LARGE",
      fn,
      `stack frame needs ${size} bytes (${slots.length} slots: ${detail || "none"}; ${spills} spill slots of 8), over the ${MAX_STACK}-byte limit`,
      loc,
    );
  }
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
