// An interpreter for the compiler IR with eBPF semantics (wrap-around widths, division by zero, shift
// modulo width) over a small memory model, used for differential tests against the kernel.

import type { SourceLocation } from "../asm/instruction.js";
import { TsbpfError } from "../errors.js";
import type { AluBits, AluOp, Cond, IrFunction, IrInstruction, Operand, VReg } from "./ir.js";
import type { CoreAccess } from "./module.js";

/** Evaluation failed: bad memory access, step limit, undefined register, unmodelled helper... */
export class IrEvalError extends TsbpfError {
  readonly loc: SourceLocation | undefined;
  constructor(code: string, detail: string, loc?: SourceLocation) {
    super(code, `evaluate IR${loc ? ` at ${loc.file}:${loc.line}:${loc.column}` : ""}: ${detail}`);
    this.loc = loc;
  }
}

/**
 * `a op b` at `bits` width with eBPF semantics, as an unsigned 64-bit value (32-bit results are
 * zero-extended): division by zero gives 0, modulo by zero leaves the dividend, shift amounts are
 * taken modulo the width, signed division truncates toward zero (INT_MIN / -1 = INT_MIN).
 */
export function evalAlu(op: AluOp, bits: AluBits, a: bigint, b: bigint): bigint {
  const w = BigInt(bits);
  const ua = BigInt.asUintN(bits, a);
  const ub = BigInt.asUintN(bits, b);
  let r: bigint;
  switch (op) {
    case "add": r = ua + ub; break;
    case "sub": r = ua - ub; break;
    case "mul": r = ua * ub; break;
    case "div": r = ub === 0n ? 0n : ua / ub; break;
    case "mod": r = ub === 0n ? ua : ua % ub; break;
    case "sdiv": {
      const sb = BigInt.asIntN(bits, b);
      r = sb === 0n ? 0n : BigInt.asIntN(bits, a) / sb;
      break;
    }
    case "smod": {
      const sb = BigInt.asIntN(bits, b);
      r = sb === 0n ? ua : BigInt.asIntN(bits, a) % sb;
      break;
    }
    case "or": r = ua | ub; break;
    case "and": r = ua & ub; break;
    case "xor": r = ua ^ ub; break;
    case "lsh": r = ua << (ub & (w - 1n)); break;
    case "rsh": r = ua >> (ub & (w - 1n)); break;
    case "arsh": r = BigInt.asIntN(bits, a) >> (ub & (w - 1n)); break;
  }
  return BigInt.asUintN(bits, r);
}

/** Whether `a cond b` holds at `bits` width. */
export function evalCond(cond: Cond, bits: AluBits, a: bigint, b: bigint): boolean {
  const ua = BigInt.asUintN(bits, a);
  const ub = BigInt.asUintN(bits, b);
  const sa = BigInt.asIntN(bits, a);
  const sb = BigInt.asIntN(bits, b);
  switch (cond) {
    case "eq": return ua === ub;
    case "ne": return ua !== ub;
    case "gt": return ua > ub;
    case "ge": return ua >= ub;
    case "lt": return ua < ub;
    case "le": return ua <= ub;
    case "sgt": return sa > sb;
    case "sge": return sa >= sb;
    case "slt": return sa < sb;
    case "sle": return sa <= sb;
    case "set": return (ua & ub) !== 0n;
  }
}

/** `-a` at `bits` width, zero-extended. */
export function evalNeg(bits: AluBits, a: bigint): bigint {
  return BigInt.asUintN(bits, -a);
}

/** The low `from` bits of `a`, zero- or sign-extended to 64 bits (unsigned view). */
export function evalExt(from: 8 | 16 | 32, signed: boolean, a: bigint): bigint {
  return signed ? BigInt.asUintN(64, BigInt.asIntN(from, a)) : BigInt.asUintN(from, a);
}

/** The low `bits` bits of `a` byte-swapped, zero-extended (eBPF `be16/be32/be64` on little-endian). */
export function evalBswap(bits: 16 | 32 | 64, a: bigint): bigint {
  let v = BigInt.asUintN(bits, a);
  let r = 0n;
  for (let i = 0; i < bits / 8; i++) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return r;
}

interface Region {
  readonly base: bigint;
  readonly data: Uint8Array;
  readonly name: string;
  readonly readonly: boolean;
}

/** A flat address space of separate regions (stack frames, context, map values, global sections). */
export class EvalMemory {
  private readonly regions: Region[] = [];
  private next = 0x10000n;

  /** Maps `data` (kept by reference: writes are visible to the caller) and returns its address. */
  map(data: Uint8Array, name: string, readonly = false): bigint {
    const base = this.next;
    this.next += (BigInt(data.length) + 0x1fffn) & ~0xfffn; // a guard gap after every region
    this.regions.push({ base, data, name, readonly });
    return base;
  }

  /** Removes the region starting at `base` (a returned stack frame). */
  unmap(base: bigint): void {
    const i = this.regions.findIndex((r) => r.base === base);
    if (i >= 0) this.regions.splice(i, 1);
  }

  private find(addr: bigint, size: number, write: boolean): { r: Region; off: number } {
    for (let i = this.regions.length - 1; i >= 0; i--) {
      const r = this.regions[i];
      if (addr >= r.base && addr + BigInt(size) <= r.base + BigInt(r.data.length)) {
        if (write && r.readonly) throw new IrEvalError("EVAL_BAD_ACCESS", `write of ${size} bytes to read-only ${r.name}`);
        return { r, off: Number(addr - r.base) };
      }
    }
    throw new IrEvalError("EVAL_BAD_ACCESS", `${write ? "write" : "read"} of ${size} bytes at 0x${addr.toString(16)} is outside every region`);
  }

  /** Little-endian unsigned load. */
  load(addr: bigint, size: number): bigint {
    const { r, off } = this.find(addr, size, false);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[off + i]);
    return v;
  }

  /** Little-endian store of the low `size` bytes of `value`. */
  store(addr: bigint, size: number, value: bigint): void {
    const { r, off } = this.find(addr, size, true);
    let v = BigInt.asUintN(size * 8, value);
    for (let i = 0; i < size; i++) {
      r.data[off + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  /** A copy of `size` bytes at `addr`. */
  read(addr: bigint, size: number): Uint8Array {
    const { r, off } = this.find(addr, size, false);
    return r.data.slice(off, off + size);
  }

  /** Copies `bytes` to `addr`. */
  write(addr: bigint, bytes: Uint8Array): void {
    const { r, off } = this.find(addr, bytes.length, true);
    r.data.set(bytes, off);
  }
}

/** A fake BPF map for the interpreter: array (u32 index keys, preallocated zero values) or hash. */
export class EvalMap {
  readonly type: "array" | "hash";
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  private readonly values = new Map<string, Uint8Array>();

  constructor(spec: { type: "array" | "hash"; keySize: number; valueSize: number; maxEntries: number }) {
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    if (this.type === "array") {
      for (let i = 0; i < this.maxEntries; i++) this.values.set(keyHex(u32le(i)), new Uint8Array(this.valueSize));
    }
  }

  /** The stored value (by reference), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    return this.values.get(keyHex(key));
  }

  /** Stores a copy of `value`; returns 0 or a negative errno as the helper would. */
  update(key: Uint8Array, value: Uint8Array, flags = 0n): bigint {
    const k = keyHex(key);
    const cur = this.values.get(k);
    if (this.type === "array") {
      if (!cur) return -7n; // E2BIG
      if (flags === 1n) return -17n; // BPF_NOEXIST on an array: EEXIST
      cur.set(value.subarray(0, this.valueSize));
      return 0n;
    }
    if (flags === 1n && cur) return -17n;
    if (flags === 2n && !cur) return -2n;
    if (cur) {
      cur.set(value.subarray(0, this.valueSize));
      return 0n;
    }
    if (this.values.size >= this.maxEntries) return -7n;
    this.values.set(k, value.slice(0, this.valueSize));
    return 0n;
  }

  /** Deletes a hash entry; returns 0 or a negative errno. */
  delete(key: Uint8Array): bigint {
    if (this.type === "array") return -22n;
    return this.values.delete(keyHex(key)) ? 0n : -2n;
  }
}

function keyHex(k: Uint8Array): string {
  return Array.from(k, (b) => b.toString(16).padStart(2, "0")).join("");
}

function u32le(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i >>> 0, true);
  return b;
}

/** What a helper or kfunc model sees. */
export interface EvalContext {
  readonly memory: EvalMemory;
  /** The map whose handle (mapFd value) is `handle`. */
  mapOf(handle: bigint): EvalMap;
  /** Calls the function whose address (funcAddr value) is `handle`. */
  callFunction(handle: bigint, args: readonly bigint[]): bigint;
}

/** A helper model: receives r1..r5 (as given) and returns r0. */
export type EvalHelper = (args: readonly bigint[], ctx: EvalContext) => bigint;

/** Options of {@link evalIr}. */
export interface EvalOptions {
  /** Other functions of the module, for callFn and funcAddr. */
  functions?: readonly IrFunction[];
  /** Arguments r1..r5 of the entry function. Default: the address of `ctx` (if given) as r1. */
  args?: readonly bigint[];
  /** A context buffer, mapped into memory; writes are visible in this array after the run. */
  ctx?: Uint8Array;
  /** Maps by name. */
  maps?: Readonly<Record<string, EvalMap>>;
  /** Global data sections (".data", ".bss", ...) by name; writes are visible after the run. */
  globals?: Readonly<Record<string, Uint8Array>>;
  /** Helper models by id; these override the built-in ones. */
  helpers?: Readonly<Record<number, EvalHelper>>;
  /** Kernel function models by name. */
  kfuncs?: Readonly<Record<string, EvalHelper>>;
  /** Values of coreValue instructions. Default: the instruction's local `value`, else an error. */
  core?: (access: CoreAccess) => bigint;
  /** Executed-instruction budget (default 1,000,000); exceeding it throws EVAL_STEP_LIMIT. */
  maxSteps?: number;
  /** Seed of bpf_get_prandom_u32 (default 1). */
  seed?: number;
}

/** Outcome of {@link evalIr}. */
export interface EvalResult {
  /** r0 at return, unsigned 64-bit. */
  value: bigint;
  /** Instructions executed (terminators included). */
  steps: number;
  memory: EvalMemory;
}

const STACK_SIZE = 512;

/**
 * Runs `fn` on the interpreter. Built-in helper models: map_lookup_elem (1), map_update_elem (2),
 * map_delete_elem (3), ktime_get_ns (5, a counter), get_prandom_u32 (7, seeded xorshift),
 * get_smp_processor_id (8, 0), get_current_pid_tgid (14, 0), bpf_loop (181).
 */
export function evalIr(fn: IrFunction, opts: EvalOptions = {}): EvalResult {
  const memory = new EvalMemory();
  const maps = new Map<bigint, EvalMap>();
  const mapHandles = new Map<string, bigint>();
  for (const [name, m] of Object.entries(opts.maps ?? {})) {
    const h = memory.map(new Uint8Array(8), `map ${name}`, true);
    maps.set(h, m);
    mapHandles.set(name, h);
  }
  const globals = new Map<string, bigint>();
  for (const [name, bytes] of Object.entries(opts.globals ?? {})) globals.set(name, memory.map(bytes, name));
  const fns = new Map<string, IrFunction>();
  for (const f of opts.functions ?? []) fns.set(f.name, f);
  fns.set(fn.name, fn);
  const fnHandles = new Map<string, bigint>();
  const fnByHandle = new Map<bigint, IrFunction>();
  for (const [name, f] of fns) {
    const h = memory.map(new Uint8Array(8), `function ${name}`, true);
    fnHandles.set(name, h);
    fnByHandle.set(h, f);
  }
  const maxSteps = opts.maxSteps ?? 1_000_000;
  let steps = 0;
  let rng = BigInt.asUintN(64, BigInt(opts.seed ?? 1) || 1n);
  let clock = 1_000_000n;

  const ctx: EvalContext = {
    memory,
    mapOf(handle) {
      const m = maps.get(handle);
      if (!m) throw new IrEvalError("EVAL_BAD_MAP", `0x${handle.toString(16)} is not a map`);
      return m;
    },
    callFunction(handle, args) {
      const f = fnByHandle.get(handle);
      if (!f) throw new IrEvalError("EVAL_BAD_CALL", `0x${handle.toString(16)} is not a function address`);
      return run(f, args, 1);
    },
  };

  const builtin: Record<number, EvalHelper> = {
    1: ([m, k], c) => {
      const map = c.mapOf(m);
      const v = map.lookup(memory.read(k, map.keySize));
      if (!v) return 0n;
      return valueAddress(map, k, v);
    },
    2: ([m, k, v, f], c) => {
      const map = c.mapOf(m);
      return BigInt.asUintN(64, map.update(memory.read(k, map.keySize), memory.read(v, map.valueSize), f));
    },
    3: ([m, k], c) => {
      const map = c.mapOf(m);
      return BigInt.asUintN(64, map.delete(memory.read(k, map.keySize)));
    },
    5: () => (clock += 1000n),
    7: () => {
      rng ^= BigInt.asUintN(64, rng << 13n);
      rng ^= rng >> 7n;
      rng ^= BigInt.asUintN(64, rng << 17n);
      return rng & 0xffffffffn;
    },
    8: () => 0n,
    14: () => 0n,
    181: ([nr, cb, cbCtx], c) => {
      let i = 0n;
      while (i < BigInt.asUintN(32, nr)) {
        const r = c.callFunction(cb, [i, cbCtx]);
        i++;
        if (r === 1n) break;
      }
      return i;
    },
  };

  // Value regions of maps are mapped lazily, one region per stored value (kept by reference).
  const valueRegions = new Map<Uint8Array, bigint>();
  function valueAddress(_map: EvalMap, _key: bigint, v: Uint8Array): bigint {
    let a = valueRegions.get(v);
    if (a === undefined) {
      a = memory.map(v, "map value");
      valueRegions.set(v, a);
    }
    return a;
  }

  function run(f: IrFunction, args: readonly bigint[], depth: number): bigint {
    if (depth > 8) throw new IrEvalError("EVAL_CALL_DEPTH", `call depth of "${f.name}" exceeds 8`, f.loc);
    const regs: (bigint | undefined)[] = new Array(f.vregCount);
    f.params.forEach((p, i) => (regs[p] = BigInt.asUintN(64, args[i] ?? 0n)));
    const frame = new Uint8Array(STACK_SIZE);
    const frameBase = memory.map(frame, `stack of ${f.name}`);
    const slotAddr = new Map<number, bigint>();
    let top = STACK_SIZE;
    for (const s of f.slots) {
      top -= s.size;
      top -= top % Math.max(1, s.align);
      if (top < 0) throw new IrEvalError("EVAL_STACK", `stack slots of "${f.name}" exceed ${STACK_SIZE} bytes`, f.loc);
      slotAddr.set(s.id, frameBase + BigInt(top));
    }
    const blocks = new Map(f.blocks.map((b) => [b.id, b]));
    const get = (v: VReg, loc?: SourceLocation): bigint => {
      const x = regs[v];
      if (x === undefined) throw new IrEvalError("EVAL_UNDEFINED_VREG", `v${v} of "${f.name}" is read before it is written`, loc);
      return x;
    };
    const val = (o: Operand, loc?: SourceLocation): bigint => ("imm" in o ? BigInt.asUintN(64, o.imm) : get(o.reg, loc));
    const tick = (loc?: SourceLocation) => {
      if (++steps > maxSteps) throw new IrEvalError("EVAL_STEP_LIMIT", `more than ${maxSteps} steps`, loc);
    };
    let block = f.blocks[0];
    try {
      for (;;) {
        for (const ins of block.instructions) {
          tick(ins.loc);
          exec(ins);
        }
        const t = block.terminator;
        tick(t.loc);
        let next: number;
        if (t.op === "ret") return val(t.value, t.loc);
        if (t.op === "jmp") next = t.target;
        else next = evalCond(t.cond, t.bits, get(t.a, t.loc), val(t.b, t.loc)) ? t.then : t.else;
        const nb = blocks.get(next);
        if (!nb) throw new IrEvalError("EVAL_BAD_BLOCK", `"${f.name}" jumps to missing block ${next}`, t.loc);
        block = nb;
      }
    } finally {
      memory.unmap(frameBase);
    }

    function exec(ins: IrInstruction): void {
      const loc = ins.loc;
      switch (ins.op) {
        case "mov": regs[ins.dst] = val(ins.src, loc); return;
        case "alu": regs[ins.dst] = evalAlu(ins.alu, ins.bits, val(ins.a, loc), val(ins.b, loc)); return;
        case "neg": regs[ins.dst] = evalNeg(ins.bits, get(ins.src, loc)); return;
        case "ext": regs[ins.dst] = evalExt(ins.from, ins.signed, get(ins.src, loc)); return;
        case "bswap": regs[ins.dst] = evalBswap(ins.bits, get(ins.src, loc)); return;
        case "load": {
          const v = memory.load(BigInt.asUintN(64, get(ins.base, loc) + BigInt(ins.offset)), ins.size);
          regs[ins.dst] = ins.signed && ins.size < 8 ? evalExt((ins.size * 8) as 8 | 16 | 32, true, v) : v;
          return;
        }
        case "store":
          memory.store(BigInt.asUintN(64, get(ins.base, loc) + BigInt(ins.offset)), ins.size, val(ins.value, loc));
          return;
        case "stackAddr": {
          const a = slotAddr.get(ins.slot);
          if (a === undefined) throw new IrEvalError("EVAL_BAD_SLOT", `stack slot ${ins.slot} of "${f.name}" is not declared`, loc);
          regs[ins.dst] = a + BigInt(ins.offset);
          return;
        }
        case "mapFd": {
          const h = mapHandles.get(ins.map);
          if (h === undefined) throw new IrEvalError("EVAL_BAD_MAP", `map "${ins.map}" is not modelled`, loc);
          regs[ins.dst] = h;
          return;
        }
        case "mapValue": {
          const g = globals.get(ins.map);
          if (g !== undefined) {
            regs[ins.dst] = g + BigInt(ins.offset);
            return;
          }
          const h = mapHandles.get(ins.map);
          if (h === undefined) throw new IrEvalError("EVAL_BAD_MAP", `global section or map "${ins.map}" is not modelled`, loc);
          const m = maps.get(h)!;
          const v = m.lookup(u32le(0));
          if (!v) throw new IrEvalError("EVAL_BAD_MAP", `map "${ins.map}" has no value at index 0`, loc);
          regs[ins.dst] = valueAddress(m, 0n, v) + BigInt(ins.offset);
          return;
        }
        case "funcAddr": {
          const h = fnHandles.get(ins.fn);
          if (h === undefined) throw new IrEvalError("EVAL_BAD_CALL", `function "${ins.fn}" is not given`, loc);
          regs[ins.dst] = h;
          return;
        }
        case "call": {
          const h = opts.helpers?.[ins.helper] ?? builtin[ins.helper];
          if (!h) throw new IrEvalError("EVAL_UNKNOWN_HELPER", `helper ${ins.helper} is not modelled`, loc);
          const r = BigInt.asUintN(64, h(ins.args.map((a) => val(a, loc)), ctx));
          if (ins.dst !== undefined) regs[ins.dst] = r;
          return;
        }
        case "callFn": {
          const g = fns.get(ins.fn);
          if (!g) throw new IrEvalError("EVAL_BAD_CALL", `function "${ins.fn}" is not given`, loc);
          const r = run(g, ins.args.map((a) => val(a, loc)), depth + 1);
          if (ins.dst !== undefined) regs[ins.dst] = r;
          return;
        }
        case "callKfunc": {
          const k = opts.kfuncs?.[ins.kfunc];
          if (!k) throw new IrEvalError("EVAL_UNKNOWN_HELPER", `kfunc "${ins.kfunc}" is not modelled`, loc);
          const r = BigInt.asUintN(64, k(ins.args.map((a) => val(a, loc)), ctx));
          if (ins.dst !== undefined) regs[ins.dst] = r;
          return;
        }
        case "coreValue": {
          const local = ins.value;
          const v = opts.core ? opts.core(ins.core) : local;
          if (v === undefined) throw new IrEvalError("EVAL_CORE", `no value for CO-RE ${ins.core.kind} "${ins.core.access}"`, loc);
          regs[ins.dst] = BigInt.asUintN(64, v);
          return;
        }
        case "atomic": {
          const addr = BigInt.asUintN(64, get(ins.base, loc) + BigInt(ins.offset));
          const old = memory.load(addr, ins.size);
          const v = get(ins.value, loc);
          let nv: bigint;
          switch (ins.rmw) {
            case "add": nv = old + v; break;
            case "or": nv = old | v; break;
            case "and": nv = old & v; break;
            case "xor": nv = old ^ v; break;
            case "xchg": nv = v; break;
          }
          memory.store(addr, ins.size, nv);
          if (ins.fetch !== undefined) regs[ins.fetch] = old;
          return;
        }
      }
    }
  }

  const args = opts.args ?? (opts.ctx ? [memory.map(opts.ctx, "ctx")] : []);
  const value = run(fn, args, 0);
  return { value, steps, memory };
}
