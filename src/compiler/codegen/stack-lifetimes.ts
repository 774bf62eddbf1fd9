// Stack slot lifetimes: which front-end slots may share bytes of the frame. A slot is live at a point
// when some path reaches the point from an access of the slot and goes on to another access of it
// (its bytes may still be read there); two slots that are never live at the same point can take the
// same bytes, as clang's stack colouring does. A slot whose address escapes (stored to memory,
// returned, or turned into something other than an address) shares with nothing.

import type { SourceLocation } from "../../asm/instruction.js";
import type { IrFunction, IrInstruction, Operand, VReg } from "../ir.js";
import { termSuccessors } from "../opt/cfg.js";

/** Which slots may share bytes, and the slots live together at the point that needs the most bytes. */
export interface SlotLifetimes {
  /** Whether slots `a` and `b` are live at the same time somewhere (or one of them escapes). */
  interferes(a: number, b: number): boolean;
  /** Slot ids live at the point with the most bytes live (escaped slots included). */
  readonly peak: readonly number[];
}

/** Fixed-width bit sets over slot ids. */
class Bits {
  readonly w: Uint32Array;
  /** A set over ids 0..n-1, or over a copy of `words`. */
  constructor(n: number, words?: Uint32Array) {
    this.w = words ? words.slice() : new Uint32Array((n + 31) >>> 5);
  }
  add(i: number): void {
    this.w[i >>> 5]! |= 1 << (i & 31);
  }
  has(i: number): boolean {
    return (this.w[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  /** this |= o; whether this changed. */
  or(o: Bits): boolean {
    let changed = false;
    for (let i = 0; i < this.w.length; i++) {
      const v = (this.w[i]! | o.w[i]!) >>> 0; // unsigned, as the array holds it
      if (v !== this.w[i]) {
        this.w[i] = v;
        changed = true;
      }
    }
    return changed;
  }
  copy(): Bits {
    return new Bits(0, this.w);
  }
  *members(): Generator<number> {
    for (let i = 0; i < this.w.length; i++) {
      let v = this.w[i]!;
      while (v) {
        const t = v & -v;
        yield (i << 5) + 31 - Math.clz32(t);
        v ^= t;
      }
    }
  }
}

const regOf = (o: Operand): VReg | undefined => ("reg" in o ? o.reg : undefined);

/** Computes slot lifetimes over `fn` (the optimized IR codegen lowers). */
export function slotLifetimes(fn: IrFunction): SlotLifetimes {
  const n = fn.slots.reduce((m, s) => Math.max(m, s.id + 1), 0);
  // Which slots each vreg may hold the address of (flow-insensitive: registers are not SSA here).
  const addr = new Map<VReg, Set<number>>();
  const join = (dst: VReg, from: Iterable<number>): boolean => {
    let s = addr.get(dst);
    let changed = false;
    for (const x of from) {
      if (!s) addr.set(dst, (s = new Set()));
      if (!s.has(x)) {
        s.add(x);
        changed = true;
      }
    }
    return changed;
  };
  const slotsOf = (o: Operand | VReg | undefined): Set<number> | undefined => {
    const r = typeof o === "number" ? o : o === undefined ? undefined : regOf(o);
    return r === undefined ? undefined : addr.get(r);
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of fn.blocks) {
      for (const ins of b.instructions) {
        if (ins.op === "stackAddr") changed = join(ins.dst, [ins.slot]) || changed;
        else if (ins.op === "mov") changed = join(ins.dst, slotsOf(ins.src) ?? []) || changed;
        else if (ins.op === "alu" && (ins.alu === "add" || ins.alu === "sub") && ins.bits === 64) {
          changed = join(ins.dst, [...(slotsOf(ins.a) ?? []), ...(slotsOf(ins.b) ?? [])]) || changed;
        }
      }
    }
  }
  const escaped = new Bits(n);
  const escape = (o: Operand | VReg | undefined): void => {
    for (const s of slotsOf(o) ?? []) escaped.add(s);
  };
  /** Slots an instruction reads or writes through an address (helpers and calls read their arguments). */
  const accessed = (ins: IrInstruction): number[] => {
    const out: number[] = [];
    const touch = (o: Operand | VReg | undefined): void => {
      for (const s of slotsOf(o) ?? []) out.push(s);
    };
    switch (ins.op) {
      case "load":
        touch(ins.base);
        break;
      case "store":
        touch(ins.base);
        escape(ins.value);
        break;
      case "atomic":
        touch(ins.base);
        escape(ins.value);
        break;
      case "call":
      case "callFn":
      case "callKfunc":
        for (const a of ins.args) touch(a);
        break;
      case "mov":
        break;
      case "alu":
        if (!((ins.alu === "add" || ins.alu === "sub") && ins.bits === 64)) {
          escape(ins.a);
          escape(ins.b);
        }
        break;
      case "neg":
      case "ext":
      case "bswap":
        escape(ins.src);
        break;
    }
    return out;
  };
  const blocks = fn.blocks;
  const index = new Map(blocks.map((b, i) => [b.id, i]));
  const access: number[][][] = blocks.map((b) => b.instructions.map(accessed));
  for (const b of blocks) if (b.terminator.op === "ret") escape(b.terminator.value);
  const acc = blocks.map((_, i) => {
    const s = new Bits(n);
    for (const a of access[i]!) for (const x of a) s.add(x);
    return s;
  });
  const succ = blocks.map((b) => termSuccessors(b.terminator).map((t) => index.get(t)!).filter((t) => t !== undefined));
  const pred: number[][] = blocks.map(() => []);
  succ.forEach((ss, i) => ss.forEach((s) => pred[s]!.push(i)));
  // Forward: some access happened before; backward: some access follows.
  const fwdIn = blocks.map(() => new Bits(n)), bwdOut = blocks.map(() => new Bits(n));
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < blocks.length; i++) {
      for (const p of pred[i]!) {
        const out = fwdIn[p]!.copy();
        out.or(acc[p]!);
        changed = fwdIn[i]!.or(out) || changed;
      }
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = blocks.length - 1; i >= 0; i--) {
      for (const s of succ[i]!) {
        const inn = bwdOut[s]!.copy();
        inn.or(acc[s]!);
        changed = bwdOut[i]!.or(inn) || changed;
      }
    }
  }
  const sizes = new Map(fn.slots.map((s) => [s.id, Math.ceil(s.size / 8) * 8]));
  const escapedList = [...escaped.members()];
  const edges = new Set<string>();
  const seen = new Set<string>();
  let peak: number[] = [...escapedList];
  let peakBytes = -1;
  const record = (live: number[]): void => {
    const key = live.join(",");
    if (seen.has(key)) return;
    seen.add(key);
    for (let a = 0; a < live.length; a++) for (let b = a + 1; b < live.length; b++) edges.add(`${live[a]},${live[b]}`);
    const all = [...new Set([...live, ...escapedList])];
    const bytes = all.reduce((t, s) => t + (sizes.get(s) ?? 0), 0);
    if (bytes > peakBytes) {
      peakBytes = bytes;
      peak = all;
    }
  };
  for (let i = 0; i < blocks.length; i++) {
    const ins = access[i]!;
    // bwd[k]: accesses at or after instruction k (then the block's successors).
    const bwd: Bits[] = new Array(ins.length + 1);
    bwd[ins.length] = bwdOut[i]!;
    for (let k = ins.length - 1; k >= 0; k--) {
      const s = bwd[k + 1]!.copy();
      for (const x of ins[k]!) s.add(x);
      bwd[k] = s;
    }
    const fwd = fwdIn[i]!.copy();
    for (let k = 0; k < ins.length; k++) {
      for (const x of ins[k]!) fwd.add(x);
      const live: number[] = [];
      for (const x of fwd.members()) if (bwd[k]!.has(x)) live.push(x);
      record(live);
    }
  }
  if (peakBytes < 0) record([]);
  return {
    interferes: (a, b) => a !== b && (escaped.has(a) || escaped.has(b) || edges.has(a < b ? `${a},${b}` : `${b},${a}`)),
    peak,
  };
}

/** Where a slot was allocated, for messages: `line N`, or `file:N` when another file (inlined code). */
export function slotWhere(loc: SourceLocation | undefined, fnLoc: SourceLocation | undefined): string {
  if (!loc) return "unknown line";
  return loc.file === fnLoc?.file ? `line ${loc.line}` : `${loc.file.split("/").pop()}:${loc.line}`;
}
