// Random IR programs for the codegen differential tests: arithmetic of every ALU op at both widths,
// ext/neg, stack round trips, diamonds on every condition, clobbering helper calls, a subprogram.

import type { AluBits, AluOp, Cond, IrFunction, VReg } from "../../src/compiler/ir.js";
import { FnBuilder, type BlockBuilder } from "./codegen-ir.js";

/** A small seeded PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  u64(): bigint {
    const special = [0n, 1n, 2n, 3n, 7n, 31n, 32n, 63n, 64n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 2n];
    if (this.chance(0.35)) return this.pick(special);
    const hi = BigInt(Math.floor(this.next() * 2 ** 32));
    const lo = BigInt(Math.floor(this.next() * 2 ** 32));
    return this.chance(0.5) ? lo : (hi << 32n) | lo;
  }
  /** An immediate: small, 32-bit edge or full 64-bit. */
  imm(): bigint {
    const r = this.next();
    if (r < 0.5) return BigInt(this.int(64)) - 8n;
    if (r < 0.75) return this.pick([0x7fffffffn, -0x80000000n, 0xffffffffn, 0x80000000n, -1n, 0xffffn, 0xffn, 1n << 40n]);
    return this.u64();
  }
}

export const ALU_OPS: readonly AluOp[] = ["add", "sub", "mul", "div", "sdiv", "mod", "smod", "or", "and", "xor", "lsh", "rsh", "arsh"];
export const CONDS: readonly Cond[] = ["eq", "ne", "gt", "ge", "lt", "le", "sgt", "sge", "slt", "sle", "set"];

/** Layout of the generated programs' interface. */
export const INPUTS = 12;
export const OUTPUTS = 8;
export const OUT_MAP = "out";

export interface RandomProgram {
  entry: IrFunction;
  sub?: IrFunction;
}

interface GenState {
  rng: Rng;
  pool: VReg[];
  calls: boolean;
  sub?: string;
  slot?: number;
}

function emitOps(b: BlockBuilder, st: GenState, count: number, allowNew: boolean): void {
  const { rng, pool } = st;
  for (let i = 0; i < count; i++) {
    const into = allowNew && rng.chance(0.5) ? undefined : rng.pick(pool);
    const a = rng.pick(pool);
    const bits: AluBits = rng.chance(0.5) ? 32 : 64;
    const r = rng.next();
    let d: VReg | undefined;
    if (r < 0.55) {
      const op = rng.pick(ALU_OPS);
      const bOp = rng.chance(0.35) ? rng.imm() : rng.pick(pool);
      const aOp = rng.chance(0.05) ? rng.imm() : a;
      d = b.alu(op, bits, aOp, bOp, into);
    } else if (r < 0.62) {
      d = b.neg(bits, a, into);
    } else if (r < 0.67) {
      d = b.ext(a, rng.pick([8, 16, 32] as const), rng.chance(0.5), into);
    } else if (r < 0.7) {
      d = b.bswap(a, rng.pick([16, 32, 64] as const), into);
    } else if (r < 0.74) {
      d = b.mov(rng.imm(), into);
    } else if (r < 0.78) {
      d = b.mov(a, into);
    } else if (r < 0.86 && st.slot !== undefined) {
      const size = rng.pick([1, 2, 4, 8] as const);
      const off = rng.int(4) * 8;
      const p = b.stackAddr(st.slot, 0);
      b.store(size, p, off, rng.chance(0.2) ? rng.imm() : a);
      d = b.load(size, p, off, rng.chance(0.5), into);
    } else if (r < 0.93 && st.calls) {
      const helper = rng.pick([5, 7]);
      const x = b.call(helper, [])!;
      // Helper results are not deterministic: keep the clobber, discard the value.
      d = b.alu("and", 64, x, 0n, into);
    } else if (st.sub && st.calls) {
      d = b.callFn(st.sub, [a, rng.pick(pool), rng.chance(0.3) ? rng.imm() : rng.pick(pool)]);
      if (into !== undefined) b.mov(d, into);
    } else {
      d = b.alu(rng.pick(ALU_OPS), bits, a, rng.pick(pool), into);
    }
    if (into === undefined && d !== undefined) pool.push(d);
  }
}

/** Diamonds over a straight-line prefix: each arm only reassigns values defined before the branch. */
function emitBody(f: FnBuilder, start: BlockBuilder, st: GenState, diamonds: number, opsPer: number): BlockBuilder {
  let cur = start;
  for (let i = 0; i < diamonds; i++) {
    emitOps(cur, st, opsPer, true);
    const thenB = f.block();
    const elseB = st.rng.chance(0.7) ? f.block() : undefined;
    const join = f.block();
    const cond = st.rng.pick(CONDS);
    const bits: AluBits = st.rng.chance(0.5) ? 32 : 64;
    const rhs = st.rng.chance(0.4) ? st.rng.imm() : st.rng.pick(st.pool);
    cur.br(cond, bits, st.rng.pick(st.pool), rhs, thenB, elseB ?? join);
    emitOps(thenB, st, 1 + st.rng.int(opsPer), false);
    thenB.jmp(join);
    if (elseB) {
      emitOps(elseB, st, 1 + st.rng.int(opsPer), false);
      elseB.jmp(join);
    }
    cur = join;
  }
  emitOps(cur, st, opsPer, true);
  return cur;
}

/**
 * A random program `(ctx) -> u32` reading INPUTS u64 arguments from the context (raw_tp args), writing
 * OUTPUTS u64 results into the value at key 0 of array map OUT_MAP, returning one more result.
 */
export function randomProgram(seed: number, opts: { diamonds?: number; ops?: number; calls?: boolean; sub?: boolean } = {}): RandomProgram {
  const rng = new Rng(seed);
  let sub: IrFunction | undefined;
  if (opts.sub ?? true) {
    const sf = new FnBuilder(`sub_${seed >>> 0}`, 3);
    const st: GenState = { rng, pool: [...sf.params], calls: false };
    const end = emitBody(sf, sf.block(), st, 1 + rng.int(2), 3);
    end.ret(rng.pick(st.pool));
    sub = sf.build();
  }
  const f = new FnBuilder("prog", 1);
  const ctx = f.params[0];
  const b0 = f.block();
  const fail = f.block();
  const body = f.block();
  const keySlot = f.slot(4, 4, "key");
  const scratch = f.slot(32, 8, "scratch");
  const k = b0.stackAddr(keySlot);
  b0.store(4, k, 0, 0n);
  const out = b0.call(1, [b0.mapFd(OUT_MAP), k])!;
  b0.br("eq", 64, out, 0n, fail, body);
  fail.ret(0n);
  const pool: VReg[] = [];
  for (let i = 0; i < INPUTS; i++) pool.push(body.load(8, ctx, 8 * i));
  const st: GenState = { rng, pool, calls: opts.calls ?? true, slot: scratch, ...(sub ? { sub: sub.name } : {}) };
  const end = emitBody(f, body, st, opts.diamonds ?? 5, opts.ops ?? 6);
  for (let i = 0; i < OUTPUTS; i++) {
    const v = rng.pick(st.pool.slice(-OUTPUTS * 2));
    const r = rng.next();
    if (r < 0.7) end.store(8, out, 8 * i, v);
    else if (r < 0.85) end.atomic(rng.pick(["add", "or", "and", "xor"] as const), 8, out, 8 * i, v);
    else {
      const old = end.atomic(rng.pick(["add", "xor", "xchg"] as const), 8, out, 8 * i, v, true)!;
      st.pool.push(end.alu("add", 64, old, v));
    }
  }
  end.ret(rng.pick(st.pool));
  return { entry: f.build(), ...(sub ? { sub } : {}) };
}
