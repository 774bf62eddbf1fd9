// Dead store elimination for stack slots that do not escape: within a block, a store whose bytes are
// all overwritten before anything may read them (or before the function returns) is removed, e.g. the
// zero-fill of a struct whose fields are all assigned right after.

import type { SsaFunction } from "./ssa.js";
import { memoryModel } from "./memory.js";

/** Runs dead store elimination on `fn` in place; returns whether a store was removed. */
export function eliminateDeadStores(fn: SsaFunction, contextParam: boolean): boolean {
  const mm = memoryModel(fn, contextParam);
  const slotSize = new Map(fn.slots.map((s) => [s.id, s.size]));
  let any = false;
  for (const b of fn.blocks) {
    // Bytes of each slot that are written later in the block before any read (bit i = byte i).
    const covered = new Map<number, bigint>();
    if (b.term.op === "ret") for (const [id, size] of slotSize) covered.set(id, (1n << BigInt(size)) - 1n);
    const keep: boolean[] = new Array(b.insns.length).fill(true);
    for (let i = b.insns.length - 1; i >= 0; i--) {
      const ins = b.insns[i];
      if (ins.op === "store" && !ins.core) {
        const at = mm.slotOffset(ins.base);
        if (at) {
          const lo = at.offset + ins.offset;
          const size = slotSize.get(at.slot) ?? 0;
          if (lo >= 0 && lo + ins.size <= size) {
            const bits = ((1n << BigInt(ins.size)) - 1n) << BigInt(lo);
            const cov = covered.get(at.slot) ?? 0n;
            if ((cov & bits) === bits) {
              keep[i] = false;
              any = true;
              continue;
            }
            covered.set(at.slot, cov | bits);
            continue;
          }
        }
      }
      // Anything that may read a slot: its later writes no longer hide this point's stores.
      // (Escaped slots belong to "other" and are never tracked here.)
      for (const c of mm.reads(ins)) if (c.startsWith("slot:")) covered.delete(Number(c.slice(5)));
    }
    if (keep.includes(false)) b.insns = b.insns.filter((_, i) => keep[i]);
  }
  return any;
}
