// A small memory model for redundancy elimination: every address is traced to its roots (a stack slot,
// the program context, or anything else), slots and the context that never escape are separate alias
// classes, and each store, atomic or call writes a known set of classes (helpers from a fixed table).

import type { BlockId, IrInstruction, Operand, VReg } from "../ir.js";
import { defOf } from "./insn.js";
import type { SsaFunction } from "./ssa.js";

/**
 * An alias class: `ctx`, `pkt` (memory reached through pointers read from the context: the packet),
 * `slot:<id>` or `other` (map values, ring buffer records, kernel memory, anything escaped).
 */
export type MemClass = string;

/** What a helper may write besides its return value. */
type Effect = "none" | "maps" | "args";

/**
 * Helpers whose memory effects are known. `none`: reads only (pointer arguments are inputs);
 * `maps`: also writes map-owned memory (values, ring buffers), never the stack or the context;
 * `args`: writes through its pointer arguments and map-owned memory. Every other helper, kfunc or
 * subprogram call may write anything it can reach, the context included (packet-resizing helpers).
 */
const HELPER_EFFECTS: ReadonlyMap<number, Effect> = new Map<number, Effect>([
  [1, "none"], // map_lookup_elem
  [2, "maps"], // map_update_elem
  [3, "maps"], // map_delete_elem
  [4, "args"], // probe_read
  [5, "none"], // ktime_get_ns
  [6, "none"], // trace_printk
  [7, "none"], // get_prandom_u32
  [8, "none"], // get_smp_processor_id
  [14, "none"], // get_current_pid_tgid
  [15, "none"], // get_current_uid_gid
  [16, "args"], // get_current_comm
  [35, "none"], // get_current_task
  [45, "args"], // probe_read_str
  [87, "maps"], // map_push_elem
  [88, "args"], // map_pop_elem
  [89, "args"], // map_peek_elem
  [112, "args"], // probe_read_user
  [113, "args"], // probe_read_kernel
  [114, "args"], // probe_read_user_str
  [115, "args"], // probe_read_kernel_str
  [125, "none"], // ktime_get_boot_ns
  [130, "maps"], // ringbuf_output
  [131, "maps"], // ringbuf_reserve
  [132, "maps"], // ringbuf_submit
  [133, "maps"], // ringbuf_discard
  [134, "none"], // ringbuf_query
]);

/** Alias facts of one SSA function. */
export interface MemoryModel {
  /** Classes an address may point into. */
  classesOf(base: VReg): readonly MemClass[];
  /** Classes an instruction may write (empty for loads and pure instructions). */
  writes(ins: IrInstruction): readonly MemClass[];
  /** Classes an instruction may read (loads, atomics, calls through their pointer arguments). */
  reads(ins: IrInstruction): readonly MemClass[];
  /** Every class that exists in the function. */
  readonly all: readonly MemClass[];
  /** The stack slot and byte offset an address points to, when it is a non-escaping slot plus constants. */
  slotOffset(base: VReg): { slot: number; offset: number } | undefined;
}

const OTHER = "other";
const EMPTY: ReadonlySet<string> = new Set();
const CTX = "ctx";
const PKT = "pkt";

/**
 * Builds the memory model. With `contextParam`, parameter 0 is the program context: an object that
 * no other pointer reaches, changed only by stores based on it and by helpers outside the table.
 */
export function memoryModel(fn: SsaFunction, contextParam: boolean): MemoryModel {
  const def = new Map<VReg, IrInstruction>();
  for (const b of fn.blocks) {
    for (const ins of b.insns) {
      const d = defOf(ins);
      if (d !== undefined) def.set(d, ins);
    }
  }
  const ctx = contextParam && fn.params.length > 0 ? fn.params[0] : undefined;
  // Roots of a value: "slot:N", "ctx", "pkt" or "other". Copies, phis and 64-bit add/sub carry their
  // operands' roots (the only arithmetic the verifier allows on pointers); everything else is "other".
  // Solved as a fixed point over all definitions (phis may form cycles); sets only grow.
  const ONLY_OTHER: ReadonlySet<string> = new Set([OTHER]);
  const rootsOf = new Map<VReg, Set<string>>();
  const get = (o: Operand): ReadonlySet<string> => ("reg" in o ? rootsOf.get(o.reg) ?? EMPTY : ONLY_OTHER);
  const order: [VReg, IrInstruction | Operand[]][] = [];
  for (const b of fn.blocks) {
    for (const p of b.phis) order.push([p.dst, p.args]);
    for (const ins of b.insns) {
      const d = defOf(ins);
      if (d !== undefined) order.push([d, ins]);
    }
  }
  if (ctx !== undefined) rootsOf.set(ctx, new Set([CTX]));
  for (const p of fn.params) if (p !== ctx) rootsOf.set(p, new Set([OTHER]));
  const grow = (v: VReg, from: ReadonlySet<string>): boolean => {
    let set = rootsOf.get(v);
    if (!set) rootsOf.set(v, (set = new Set()));
    const before = set.size;
    for (const r of from) set.add(r);
    return set.size !== before;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const [v, d] of order) {
      if (Array.isArray(d)) {
        for (const a of d) if ("reg" in a && grow(v, get(a))) changed = true;
        if (!rootsOf.has(v)) rootsOf.set(v, new Set());
        continue;
      }
      let add: ReadonlySet<string>;
      if (d.op === "stackAddr") add = new Set([`slot:${d.slot}`]);
      else if (d.op === "load") add = get({ reg: d.base }).has(CTX) ? new Set([PKT]) : ONLY_OTHER;
      else if (d.op === "mov") add = get(d.src);
      else if (d.op === "alu" && (d.alu === "add" || d.alu === "sub") && d.bits === 64) {
        add = new Set([...("reg" in d.a ? get(d.a) : []), ...("reg" in d.b ? get(d.b) : [])]);
      } else add = ONLY_OTHER;
      if (grow(v, add)) changed = true;
    }
  }
  const roots = (v: VReg): ReadonlySet<string> => rootsOf.get(v) ?? ONLY_OTHER;
  // Escapes: an address stored to memory, returned, or passed to a subprogram or kfunc.
  const escaped = new Set<string>();
  const escape = (o: Operand) => {
    if ("reg" in o) for (const r of roots(o.reg)) if (r !== OTHER) escaped.add(r);
  };
  for (const b of fn.blocks) {
    for (const ins of b.insns) {
      if (ins.op === "store") escape(ins.value);
      else if (ins.op === "atomic") escape({ reg: ins.value });
      else if (ins.op === "callFn" || ins.op === "callKfunc") ins.args.forEach(escape);
    }
    if (b.term.op === "ret") escape(b.term.value);
  }
  // Pointers read from an escaped context could be anywhere: the packet class then merges into `other`.
  if (escaped.has(CTX)) escaped.add(PKT);
  const cls = (r: string): MemClass => (escaped.has(r) ? OTHER : r);
  const all = new Set<MemClass>([OTHER]);
  if (ctx !== undefined && !escaped.has(CTX)) all.add(CTX);
  if (ctx !== undefined && !escaped.has(PKT)) all.add(PKT);
  for (const s of fn.slots) if (!escaped.has(`slot:${s.id}`)) all.add(`slot:${s.id}`);
  const classMemo = new Map<VReg, MemClass[]>();
  const classesOf = (base: VReg): MemClass[] => {
    const known = classMemo.get(base);
    if (known) return known;
    const out = new Set<MemClass>();
    for (const r of roots(base)) out.add(cls(r));
    if (out.size === 0) out.add(OTHER);
    const list = [...out];
    classMemo.set(base, list);
    return list;
  };
  const argClasses = (args: readonly Operand[]): MemClass[] => {
    const out = new Set<MemClass>();
    for (const a of args) if ("reg" in a) for (const r of roots(a.reg)) out.add(cls(r));
    return [...out];
  };
  const writeMemo = new WeakMap<IrInstruction, readonly MemClass[]>();
  const NONE: readonly MemClass[] = [];
  const writes = (ins: IrInstruction): readonly MemClass[] => {
    if (ins.op !== "store" && ins.op !== "atomic" && ins.op !== "call" && ins.op !== "callFn" && ins.op !== "callKfunc") return NONE;
    let w = writeMemo.get(ins);
    if (!w) {
      w = computeWrites(ins);
      writeMemo.set(ins, w);
    }
    return w;
  };
  const reads = (ins: IrInstruction): readonly MemClass[] => {
    switch (ins.op) {
      case "load": case "atomic": return classesOf(ins.base);
      case "call": {
        const e = HELPER_EFFECTS.get(ins.helper);
        return e === undefined ? [...all] : argClasses(ins.args);
      }
      case "callFn": case "callKfunc": return [...all];
      default: return NONE;
    }
  };
  const slotOffset = (base: VReg): { slot: number; offset: number } | undefined => {
    let off = 0;
    let v = base;
    for (let i = 0; i < 64; i++) {
      const d = def.get(v);
      if (!d) return undefined;
      if (d.op === "stackAddr") return escaped.has(`slot:${d.slot}`) ? undefined : { slot: d.slot, offset: d.offset + off };
      if (d.op === "alu" && d.alu === "add" && d.bits === 64 && "reg" in d.a && "imm" in d.b) {
        off += Number(BigInt.asIntN(64, d.b.imm));
        v = d.a.reg;
      } else if (d.op === "mov" && "reg" in d.src) v = d.src.reg;
      else return undefined;
    }
    return undefined;
  };
  return { all: [...all], classesOf, writes, reads, slotOffset };

  function computeWrites(ins: IrInstruction): readonly MemClass[] {
    {
      switch (ins.op) {
        case "store": case "atomic": return classesOf(ins.base);
        case "call": {
          const e = HELPER_EFFECTS.get(ins.helper);
          if (e === "none") return [];
          if (e === "maps") return [OTHER];
          if (e === "args") return [...new Set([OTHER, ...argClasses(ins.args)])];
          return [...new Set([OTHER, CTX, PKT, ...argClasses(ins.args)])];
        }
        case "callFn": case "callKfunc": return [...all];
        default: return [];
      }
    }
  }
}

/**
 * Memory versions at each block entry, one number per class of `mm.all` (same order): where every path
 * brings the same last write the same version, else a merge version of that block. 0 is the initial
 * memory, positive numbers are writes, negative numbers merges.
 */
export function memoryVersions(fn: SsaFunction, mm: MemoryModel, rpo: readonly BlockId[]): Map<BlockId, Int32Array> {
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const C = mm.all.length;
  const classIndex = new Map(mm.all.map((c, i) => [c, i]));
  const inState = new Map<BlockId, Int32Array>();
  const outState = new Map<BlockId, Int32Array>();
  const blockWrites = new Map<BlockId, Int32Array>(); // last write id per class, 0 = none
  let nextWrite = 1;
  rpo.forEach((id) => {
    const b = by.get(id);
    if (!b) return;
    const w = new Int32Array(C);
    for (const ins of b.insns) {
      const cs = mm.writes(ins);
      if (cs.length === 0) continue;
      const v = nextWrite++;
      for (const c of cs) w[classIndex.get(c)!] = v;
    }
    blockWrites.set(id, w);
  });
  const UNSET = 0x7fffffff;
  for (const id of rpo) {
    inState.set(id, new Int32Array(C).fill(UNSET));
    outState.set(id, new Int32Array(C).fill(UNSET));
  }
  const mergeOf = (i: number) => -(i + 1);
  for (let changed = true; changed;) {
    changed = false;
    rpo.forEach((id, bi) => {
      const b = by.get(id);
      if (!b) return;
      const inn = inState.get(id)!;
      const out = outState.get(id)!;
      const w = blockWrites.get(id)!;
      for (let c = 0; c < C; c++) {
        let v: number;
        if (b.preds.length === 0) v = 0;
        else {
          v = UNSET;
          let merged = false;
          for (const p of b.preds) {
            const pv = outState.get(p)?.[c] ?? UNSET;
            if (pv === UNSET) {
              merged = true; // not computed yet: a back edge
              continue;
            }
            if (v === UNSET) v = pv;
            else if (v !== pv) merged = true;
          }
          if (merged || v === UNSET) v = mergeOf(bi);
        }
        if (inn[c] !== v) {
          inn[c] = v;
          changed = true;
        }
        out[c] = w[c] !== 0 ? w[c] : v;
      }
    });
  }
  return inState;
}

/** Index of each write instruction's version as assigned by {@link memoryVersions} (block order, then instruction order). */
export function writeIds(fn: SsaFunction, mm: MemoryModel, rpo: readonly BlockId[]): Map<IrInstruction, number> {
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const ids = new Map<IrInstruction, number>();
  let next = 1;
  for (const id of rpo) {
    const b = by.get(id);
    if (!b) continue;
    for (const ins of b.insns) if (mm.writes(ins).length) ids.set(ins, next++);
  }
  return ids;
}
