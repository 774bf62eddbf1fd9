// Test support for the codegen suites: a small builder for hand-written IR functions, and helpers
// that link generated functions into one loadable program (map fds and subprogram calls patched).

import type { AluBits, AluOp, BlockId, Cond, IrBlock, IrFunction, IrInstruction, IrTerminator, Operand, StackSlot, VReg } from "../../src/compiler/ir.js";
import { Instruction } from "../../src/asm/instruction.js";
import { PSEUDO_CALL, PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from "../../src/asm/opcode.js";
import { resolveReferences } from "../../src/asm/encode.js";

/** A vreg (number) or an immediate (bigint). */
export type Arg = VReg | bigint;

export function operand(x: Arg): Operand {
  return typeof x === "bigint" ? { imm: x } : { reg: x };
}

/** Builds one IR block; every method appends an instruction and returns its destination vreg. */
export class BlockBuilder {
  readonly instructions: IrInstruction[] = [];
  terminator: IrTerminator = { op: "ret", value: { imm: 0n } };
  constructor(readonly fn: FnBuilder, readonly id: BlockId) {}

  private def(f: (d: VReg) => IrInstruction, into?: VReg): VReg {
    const d = into ?? this.fn.vreg();
    this.instructions.push(f(d));
    return d;
  }
  mov(src: Arg, into?: VReg): VReg { return this.def((dst) => ({ op: "mov", dst, src: operand(src) }), into); }
  alu(alu: AluOp, bits: AluBits, a: Arg, b: Arg, into?: VReg): VReg {
    return this.def((dst) => ({ op: "alu", alu, bits, dst, a: operand(a), b: operand(b) }), into);
  }
  neg(bits: AluBits, src: VReg, into?: VReg): VReg { return this.def((dst) => ({ op: "neg", bits, dst, src }), into); }
  ext(src: VReg, from: 8 | 16 | 32, signed: boolean, into?: VReg): VReg {
    return this.def((dst) => ({ op: "ext", dst, src, from, signed }), into);
  }
  bswap(src: VReg, bits: 16 | 32 | 64, into?: VReg): VReg {
    return this.def((dst) => ({ op: "bswap", dst, src, bits }), into);
  }
  load(size: 1 | 2 | 4 | 8, base: VReg, offset: number, signed = false, into?: VReg): VReg {
    return this.def((dst) => ({ op: "load", size, dst, base, offset, signed }), into);
  }
  store(size: 1 | 2 | 4 | 8, base: VReg, offset: number, value: Arg): void {
    this.instructions.push({ op: "store", size, base, offset, value: operand(value) });
  }
  stackAddr(slot: number, offset = 0): VReg { return this.def((dst) => ({ op: "stackAddr", dst, slot, offset })); }
  mapFd(map: string): VReg { return this.def((dst) => ({ op: "mapFd", dst, map })); }
  mapValue(map: string, offset = 0): VReg { return this.def((dst) => ({ op: "mapValue", dst, map, offset })); }
  funcAddr(fn: string): VReg { return this.def((dst) => ({ op: "funcAddr", dst, fn })); }
  call(helper: number, args: Arg[], result = true): VReg | undefined {
    if (!result) {
      this.instructions.push({ op: "call", helper, args: args.map(operand) });
      return undefined;
    }
    return this.def((dst) => ({ op: "call", helper, args: args.map(operand), dst }));
  }
  callFn(fn: string, args: Arg[]): VReg { return this.def((dst) => ({ op: "callFn", fn, args: args.map(operand), dst })); }
  atomic(rmw: "add" | "or" | "and" | "xor" | "xchg", size: 4 | 8, base: VReg, offset: number, value: VReg, fetch = false): VReg | undefined {
    const f = fetch ? this.fn.vreg() : undefined;
    this.instructions.push({ op: "atomic", rmw, size, base, offset, value, ...(f !== undefined ? { fetch: f } : {}) });
    return f;
  }
  br(cond: Cond, bits: AluBits, a: VReg, b: Arg, then: BlockBuilder | BlockId, els: BlockBuilder | BlockId): void {
    const id = (x: BlockBuilder | BlockId) => (typeof x === "number" ? x : x.id);
    this.terminator = { op: "br", cond, bits, a, b: operand(b), then: id(then), else: id(els) };
  }
  jmp(target: BlockBuilder | BlockId): void {
    this.terminator = { op: "jmp", target: typeof target === "number" ? target : target.id };
  }
  ret(value: Arg): void {
    this.terminator = { op: "ret", value: operand(value) };
  }
}

/** Builds an IR function. */
export class FnBuilder {
  private next = 0;
  readonly params: VReg[] = [];
  readonly blocks: BlockBuilder[] = [];
  readonly slots: StackSlot[] = [];
  constructor(readonly name: string, params = 1) {
    for (let i = 0; i < params; i++) this.params.push(this.vreg());
  }
  vreg(): VReg {
    return this.next++;
  }
  block(): BlockBuilder {
    const b = new BlockBuilder(this, this.blocks.length);
    this.blocks.push(b);
    return b;
  }
  slot(size: number, align: number, name?: string): number {
    const id = this.slots.length;
    this.slots.push({ id, size, align, ...(name ? { name } : {}) });
    return id;
  }
  build(): IrFunction {
    const blocks: IrBlock[] = this.blocks.map((b) => ({ id: b.id, instructions: b.instructions, terminator: b.terminator }));
    return { name: this.name, params: this.params, blocks, slots: this.slots, vregCount: this.next };
  }
}

/**
 * Links generated functions into one program (entry first): bpf-to-bpf calls and PSEUDO_FUNC loads
 * resolved, map references replaced by fds (`maps[name]`), global references (PSEUDO_MAP_VALUE with
 * `reference`) by the fd of `maps[section]` with the offset moved to next_imm as the kernel expects.
 */
export function link(fns: { name: string; instructions: readonly Instruction[] }[], maps: Record<string, number> = {}): Instruction[] {
  const all: Instruction[] = [];
  for (const f of fns) {
    f.instructions.forEach((insn, i) => {
      const c = insn.clone();
      if (i === 0) c.symbol = f.name;
      else delete c.symbol;
      all.push(c);
    });
  }
  for (const c of all) {
    if (c.isLoadImm64 && c.src === PSEUDO_MAP_FD && c.reference !== undefined) {
      const fd = maps[c.reference];
      if (fd === undefined) throw new Error(`link: no fd for map ${c.reference}`);
      c.constant = BigInt(fd);
      delete c.reference;
    } else if (c.isLoadImm64 && c.src === PSEUDO_MAP_VALUE && c.reference !== undefined) {
      const fd = maps[c.reference];
      if (fd === undefined) throw new Error(`link: no fd for section ${c.reference}`);
      const off = BigInt.asUintN(32, c.constant);
      c.constant = BigInt.asIntN(64, (off << 32n) | BigInt(fd));
      delete c.reference;
    } else if (!(c.isCall && c.src === PSEUDO_CALL) && !(c.isLoadImm64 && c.src === PSEUDO_FUNC)) {
      // keep helper calls etc. as they are
    }
  }
  return resolveReferences(all);
}
