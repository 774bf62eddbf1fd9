// Instruction selection: IR -> machine IR over allocation nodes. Three-address ALU becomes eBPF's
// two-address form, immediates are checked against eBPF's 32-bit fields, calls follow the r1-r5/r0 ABI.

import { AtomicOp, AluOp, Class, OP_LD_IMM64, PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, Size, Source, type AluOpValue, type SizeValue } from "../../asm/opcode.js";
import { Instruction, type SourceLocation } from "../../asm/instruction.js";
import { atomic, be, call, callKfunc, callSub, ldImm64, loadMem, loadMemSx, movsx, storeImm, storeMem } from "../../asm/index.js";
import type { AluBits, AluOp as IrAluOp, Cond, IrFunction, IrInstruction, Operand, VReg } from "../ir.js";
import { evalAlu, evalBswap, evalCond, evalExt, evalNeg } from "../ir-eval.js";
import { CodegenError } from "./error.js";
import { FIRST_VIRTUAL, FP, newNode, type FrameRef, type MBlock, type MFunction, type MInsn, type Node } from "./mir.js";

/** Target CPU version: v3 has jmp32/alu32; v4 adds sign-extending loads/moves and signed div/mod. */
export type Cpu = "v3" | "v4";

const ALU: Record<IrAluOp, AluOpValue> = {
  add: AluOp.ADD, sub: AluOp.SUB, mul: AluOp.MUL, div: AluOp.DIV, sdiv: AluOp.DIV, mod: AluOp.MOD, smod: AluOp.MOD,
  or: AluOp.OR, and: AluOp.AND, xor: AluOp.XOR, lsh: AluOp.LSH, rsh: AluOp.RSH, arsh: AluOp.ARSH,
};
const COMMUTATIVE = new Set<IrAluOp>(["add", "mul", "or", "and", "xor"]);
const SIZE: Record<number, SizeValue> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
/** The condition with its operands swapped: `a cond b` == `b swapped(cond) a`. */
const SWAPPED: Record<Cond, Cond> = {
  eq: "eq", ne: "ne", gt: "lt", ge: "le", lt: "gt", le: "ge", sgt: "slt", sge: "sle", slt: "sgt", sle: "sge", set: "set",
};

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;

/** Whether a 64-bit value (any view) is representable as a sign-extended 32-bit immediate. */
export function fitsImm32(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= I32_MIN && s <= I32_MAX;
}

type Val = { reg: Node } | { imm: bigint };

/** A raw ALU instruction template (registers filled in later). */
function aluTemplate(op: AluOpValue, bits: AluBits, imm: bigint | undefined, signedDiv = false): Instruction {
  const cls = bits === 64 ? Class.ALU64 : Class.ALU;
  return new Instruction(cls | op | (imm === undefined ? Source.X : Source.K), 0, 0, signedDiv ? 1 : 0, imm ?? 0n);
}

/** Facts about IR vregs gathered before selection. */
interface Facts {
  /** Number of definitions (parameters count as one). */
  defs: Uint32Array;
  /** The single defining instruction, when there is exactly one and it is not a parameter. */
  def: (IrInstruction | undefined)[];
}

function gatherFacts(fn: IrFunction): Facts {
  const defs = new Uint32Array(fn.vregCount);
  const def: (IrInstruction | undefined)[] = new Array(fn.vregCount);
  const check = (v: VReg, loc?: SourceLocation) => {
    if (!Number.isInteger(v) || v < 0 || v >= fn.vregCount) {
      throw new CodegenError("INVALID_IR", fn.name, `vreg ${v} is outside 0..${fn.vregCount - 1}`, loc ?? fn.loc);
    }
  };
  for (const p of fn.params) {
    check(p);
    defs[p]++;
  }
  for (const b of fn.blocks) {
    for (const ins of b.instructions) {
      for (const v of usedVregs(ins)) check(v, ins.loc);
      const d = definedVregs(ins);
      for (const v of d) {
        check(v, ins.loc);
        defs[v]++;
        def[v] = ins;
      }
    }
    const t = b.terminator;
    if (t.op === "br") {
      check(t.a, t.loc);
      if ("reg" in t.b) check(t.b.reg, t.loc);
    } else if (t.op === "ret" && "reg" in t.value) check(t.value.reg, t.loc);
  }
  for (let v = 0; v < fn.vregCount; v++) if (defs[v] !== 1) def[v] = undefined;
  return { defs, def };
}

/** Vregs an IR instruction writes. */
export function definedVregs(ins: IrInstruction): VReg[] {
  switch (ins.op) {
    case "store": return [];
    case "call": case "callFn": case "callKfunc": return ins.dst === undefined ? [] : [ins.dst];
    case "atomic": return ins.fetch === undefined ? [] : [ins.fetch];
    default: return [ins.dst];
  }
}

/** Vregs an IR instruction reads. */
export function usedVregs(ins: IrInstruction): VReg[] {
  const r = (o: Operand): VReg[] => ("reg" in o ? [o.reg] : []);
  switch (ins.op) {
    case "mov": return r(ins.src);
    case "alu": return [...r(ins.a), ...r(ins.b)];
    case "neg": case "ext": case "bswap": return [ins.src];
    case "load": return [ins.base];
    case "store": return [ins.base, ...r(ins.value)];
    case "call": case "callFn": case "callKfunc": return ins.args.flatMap(r);
    case "atomic": return [ins.base, ins.value];
    default: return [];
  }
}

/**
 * Lowers `fn` to machine IR. Single-definition constants are propagated into immediate operands;
 * single-definition stack addresses used as memory bases become r10-based accesses; map, global,
 * function and stack addresses passed to calls are re-materialized directly in the argument register.
 */
export function lower(fn: IrFunction, cpu: Cpu): MFunction {
  if (fn.blocks.length === 0) throw new CodegenError("INVALID_IR", fn.name, "function has no blocks", fn.loc);
  if (fn.params.length > 5) throw new CodegenError("TOO_MANY_ARGUMENTS", fn.name, `${fn.params.length} parameters; eBPF passes at most 5 (r1-r5)`, fn.loc);
  const facts = gatherFacts(fn);
  const slotIds = new Set(fn.slots.map((s) => s.id));
  const m: MFunction = {
    name: fn.name,
    blocks: [],
    byId: new Map(),
    nodeCount: FIRST_VIRTUAL + fn.vregCount,
    noSpill: new Set(),
    spillSlots: 0,
    ...(fn.loc ? { loc: fn.loc } : {}),
  };
  const N = (v: VReg): Node => FIRST_VIRTUAL + v;
  const constOf = (v: VReg): bigint | undefined => {
    const d = facts.def[v];
    return d && d.op === "mov" && "imm" in d.src ? d.src.imm : undefined;
  };
  const frameOf = (v: VReg): { slot: number; offset: number } | undefined => {
    const d = facts.def[v];
    return d && d.op === "stackAddr" ? { slot: d.slot, offset: d.offset } : undefined;
  };
  const rematDef = (v: VReg): IrInstruction | undefined => {
    const d = facts.def[v];
    return d && (d.op === "mapFd" || d.op === "mapValue" || d.op === "funcAddr" || d.op === "stackAddr") ? d : undefined;
  };
  /** Whether a vreg is parameter 0 (the program context) or a copy of it. */
  const isContext = (v: VReg): boolean => {
    for (let i = 0; i < 16; i++) {
      if (fn.params.length > 0 && v === fn.params[0]) return true;
      const d = facts.def[v];
      if (!d || d.op !== "mov" || !("reg" in d.src)) return false;
      v = d.src.reg;
    }
    return false;
  };
  const val = (o: Operand): Val => {
    if ("imm" in o) return { imm: o.imm };
    const c = constOf(o.reg);
    return c === undefined ? { reg: N(o.reg) } : { imm: c };
  };

  let out: MInsn[] = [];
  let loc: SourceLocation | undefined;
  const push = (i: MInsn): MInsn => {
    if (loc) i.loc = loc;
    out.push(i);
    return i;
  };
  const temp = (): Node => newNode(m);
  const bad = (detail: string): never => {
    throw new CodegenError("INVALID_IR", fn.name, detail, loc ?? fn.loc);
  };
  const checkSlot = (slot: number) => {
    if (!slotIds.has(slot)) bad(`stack slot ${slot} is not declared`);
  };

  const move = (d: Node, s: Node) => {
    if (d !== s) push({ insn: aluTemplate(AluOp.MOV, 64, undefined), dst: d, src: s, defs: [d], uses: [s], move: true });
  };
  const movImm = (d: Node, value: bigint) => {
    const s = BigInt.asIntN(64, value);
    let insn: Instruction;
    if (fitsImm32(s)) insn = aluTemplate(AluOp.MOV, 64, s);
    else if (BigInt.asUintN(64, value) <= 0xffffffffn) insn = aluTemplate(AluOp.MOV, 32, BigInt.asIntN(32, value));
    else insn = ldImm64(0, s);
    push({ insn, dst: d, defs: [d], uses: [], remat: true });
  };
  const setVal = (d: Node, v: Val) => ("imm" in v ? movImm(d, v.imm) : move(d, v.reg));
  /** `d = low 32 bits of s` (zero-extended) or a 64-bit copy. */
  const copy = (d: Node, s: Val, bits: AluBits) => {
    if ("imm" in s) movImm(d, BigInt.asUintN(bits, s.imm));
    else if (bits === 64) move(d, s.reg);
    else push({ insn: aluTemplate(AluOp.MOV, 32, undefined), dst: d, src: s.reg, defs: [d], uses: [s.reg] });
  };
  /** `d op= s` (two-address). */
  const alu2 = (op: AluOpValue, bits: AluBits, d: Node, s: Node | bigint, signedDiv = false) => {
    if (typeof s === "bigint") push({ insn: aluTemplate(op, bits, s, signedDiv), dst: d, defs: [d], uses: [d] });
    else push({ insn: aluTemplate(op, bits, undefined, signedDiv), dst: d, src: s, defs: [d], uses: [d, s] });
  };
  const neg = (bits: AluBits, d: Node) => push({ insn: aluTemplate(AluOp.NEG, bits, 0n), dst: d, defs: [d], uses: [d] });

  /** Emulates sdiv/smod (cpu v3) with unsigned div/mod on magnitudes; no branches. */
  const signedDivMod = (op: "sdiv" | "smod", bits: AluBits, d: Node, a: Val, b: Val) => {
    const sh = BigInt(bits - 1);
    const ta = temp(), tb = temp(), ma = temp(), mb = temp();
    setVal(ta, a);
    setVal(tb, b);
    move(ma, ta);
    alu2(AluOp.ARSH, bits, ma, sh);
    alu2(AluOp.XOR, bits, ta, ma);
    alu2(AluOp.SUB, bits, ta, ma);
    move(mb, tb);
    alu2(AluOp.ARSH, bits, mb, sh);
    alu2(AluOp.XOR, bits, tb, mb);
    alu2(AluOp.SUB, bits, tb, mb);
    alu2(op === "sdiv" ? AluOp.DIV : AluOp.MOD, bits, ta, tb);
    if (op === "sdiv") alu2(AluOp.XOR, bits, ma, mb);
    alu2(AluOp.XOR, bits, ta, ma);
    alu2(AluOp.SUB, bits, ta, ma);
    copy(d, { reg: ta }, bits);
  };

  const lowerAlu = (op: IrAluOp, bits: AluBits, d: Node, aIn: Operand, bIn: Operand) => {
    let a = val(aIn);
    let b = val(bIn);
    if ("imm" in a && "imm" in b) return movImm(d, evalAlu(op, bits, a.imm, b.imm));
    // A constant too wide for an immediate that already lives in a vreg (shared by the optimizer) is used from there.
    let bHome = "reg" in bIn ? N(bIn.reg) : undefined;
    if ("imm" in a && COMMUTATIVE.has(op)) {
      [a, b] = [b, a];
      bHome = "reg" in aIn ? N(aIn.reg) : undefined;
    }
    const signed = op === "sdiv" || op === "smod";
    if (signed && cpu === "v3") {
      if ("imm" in b && BigInt.asUintN(bits, b.imm) === 0n) return op === "sdiv" ? movImm(d, 0n) : copy(d, a, bits);
      return signedDivMod(op, bits, d, a, b);
    }
    if ("imm" in b) {
      const k = BigInt.asUintN(bits, b.imm);
      const ones = (1n << BigInt(bits)) - 1n;
      const w = BigInt(bits);
      switch (op) {
        case "lsh": case "rsh": case "arsh": {
          const amt = k & (w - 1n);
          if (amt === 0n) return copy(d, a, bits);
          b = { imm: amt };
          break;
        }
        case "div": case "sdiv":
          if (k === 0n) return movImm(d, 0n);
          if (k === 1n) return copy(d, a, bits);
          break;
        case "mod": case "smod":
          if (k === 0n) return copy(d, a, bits);
          if (k === 1n || (op === "smod" && k === ones)) return movImm(d, 0n);
          break;
        case "add": case "sub": case "or": case "xor":
          if (k === 0n) return copy(d, a, bits);
          break;
        case "mul":
          if (k === 0n) return movImm(d, 0n);
          if (k === 1n) return copy(d, a, bits);
          break;
        case "and":
          if (k === 0n) return movImm(d, 0n);
          if (k === ones) return copy(d, a, bits);
          if (bits === 64 && k === 0xffffffffn) return copy(d, a, 32);
          break;
      }
      const imm = bits === 32 ? BigInt.asIntN(32, b.imm) : BigInt.asIntN(64, b.imm);
      if (bits === 32 || fitsImm32(imm)) {
        if ("reg" in a) move(d, a.reg);
        else movImm(d, a.imm);
        return alu2(ALU[op], bits, d, bits === 32 ? imm : imm, signed);
      }
      if (bHome !== undefined) b = { reg: bHome };
      else {
        const t = temp();
        movImm(t, b.imm);
        b = { reg: t };
      }
    }
    const br = (b as { reg: Node }).reg;
    if (br === d && !("reg" in a && a.reg === d)) {
      if (COMMUTATIVE.has(op) && "reg" in a) return alu2(ALU[op], bits, d, a.reg);
      if (op === "sub" && ("reg" in a || bits === 32 || fitsImm32(a.imm))) {
        neg(bits, d);
        return "reg" in a ? alu2(AluOp.ADD, bits, d, a.reg) : alu2(AluOp.ADD, bits, d, BigInt.asIntN(32, a.imm));
      }
      const t = temp();
      setVal(t, a);
      alu2(ALU[op], bits, t, br, signed);
      return move(d, t);
    }
    setVal(d, a);
    alu2(ALU[op], bits, d, br, signed);
  };

  /** Puts an address base in a memory instruction: a folded stack address or a register. */
  const memBase = (base: VReg, offset: number): { node: Node; frame?: FrameRef; offset: number } => {
    const f = frameOf(base);
    if (f) {
      checkSlot(f.slot);
      return { node: FP, frame: { kind: "slot", slot: f.slot, offset: f.offset }, offset };
    }
    return { node: N(base), offset };
  };
  const checkOffset = (off: number) => {
    if (!Number.isInteger(off) || off < -32768 || off > 32767) bad(`memory offset ${off} does not fit in 16 bits`);
  };

  /** Emits the definition of a re-materializable vreg directly into node d. */
  const remat = (d: Node, def: IrInstruction) => {
    switch (def.op) {
      case "mapFd":
        push({ insn: new Instruction(OP_LD_IMM64, 0, PSEUDO_MAP_FD, 0, 0n).withReference(def.map), dst: d, defs: [d], uses: [], remat: true });
        return;
      case "mapValue":
        push({ insn: new Instruction(OP_LD_IMM64, 0, PSEUDO_MAP_VALUE, 0, BigInt(def.offset)).withReference(def.map), dst: d, defs: [d], uses: [], remat: true });
        return;
      case "funcAddr":
        push({ insn: new Instruction(OP_LD_IMM64, 0, PSEUDO_FUNC, 0, 0n).withReference(def.fn), dst: d, defs: [d], uses: [], remat: true });
        return;
      case "stackAddr":
        checkSlot(def.slot);
        push({ insn: aluTemplate(AluOp.ADD, 64, 0n), dst: d, defs: [d], uses: [], remat: true, frameAddr: { kind: "slot", slot: def.slot, offset: def.offset } });
        return;
      default:
        bad(`internal: ${def.op} is not re-materializable`);
    }
  };

  const lowerCall = (insn: Instruction, args: readonly Operand[], dst: VReg | undefined) => {
    if (args.length > 5) bad(`call with ${args.length} arguments; eBPF passes at most 5 (r1-r5)`);
    const later: (() => void)[] = [];
    args.forEach((a, i) => {
      const r = i + 1;
      const v = val(a);
      if ("imm" in v) later.push(() => movImm(r, v.imm));
      else {
        const def = "reg" in a ? rematDef(a.reg) : undefined;
        if (def) later.push(() => remat(r, def));
        else move(r, v.reg);
      }
    });
    for (const f of later) f();
    const uses = args.map((_, i) => i + 1);
    push({ insn, defs: [0, 1, 2, 3, 4, 5], uses, effect: true });
    if (dst !== undefined) move(N(dst), 0);
  };

  const lowerInsn = (ins: IrInstruction) => {
    switch (ins.op) {
      case "mov": return setVal(N(ins.dst), val(ins.src));
      case "alu": return lowerAlu(ins.alu, ins.bits, N(ins.dst), ins.a, ins.b);
      case "neg": {
        const c = constOf(ins.src);
        if (c !== undefined) return movImm(N(ins.dst), evalNeg(ins.bits, c));
        move(N(ins.dst), N(ins.src));
        return neg(ins.bits, N(ins.dst));
      }
      case "ext": {
        const d = N(ins.dst);
        const c = constOf(ins.src);
        if (c !== undefined) return movImm(d, evalExt(ins.from, ins.signed, c));
        const s = N(ins.src);
        if (!ins.signed) {
          if (ins.from === 32) return copy(d, { reg: s }, 32);
          move(d, s);
          return alu2(AluOp.AND, 64, d, ins.from === 8 ? 0xffn : 0xffffn);
        }
        if (cpu === "v4") return push({ insn: movsx(0, 0, ins.from), dst: d, src: s, defs: [d], uses: [s] });
        move(d, s);
        alu2(AluOp.LSH, 64, d, BigInt(64 - ins.from));
        return alu2(AluOp.ARSH, 64, d, BigInt(64 - ins.from));
      }
      case "bswap": {
        const c = constOf(ins.src);
        if (c !== undefined) return movImm(N(ins.dst), evalBswap(ins.bits, c));
        move(N(ins.dst), N(ins.src));
        const d = N(ins.dst);
        return push({ insn: be(0, ins.bits), dst: d, defs: [d], uses: [d] });
      }
      case "load": {
        checkOffset(ins.offset);
        const b = memBase(ins.base, ins.offset);
        const d = N(ins.dst);
        const sx = ins.signed === true && ins.size < 8;
        const insn = sx && cpu === "v4" ? loadMemSx(SIZE[ins.size], 0, 0, b.offset) : loadMem(SIZE[ins.size], 0, 0, b.offset);
        const mi: MInsn = { insn, dst: d, src: b.node, defs: [d], uses: b.node === FP ? [] : [b.node] };
        if (b.frame) mi.frame = b.frame;
        if (ins.core) mi.core = ins.core;
        push(mi);
        if (sx && cpu === "v3") {
          const sh = BigInt(64 - ins.size * 8);
          alu2(AluOp.LSH, 64, d, sh);
          alu2(AluOp.ARSH, 64, d, sh);
        }
        return;
      }
      case "store": {
        checkOffset(ins.offset);
        const b = memBase(ins.base, ins.offset);
        // Constants propagate into stores only for the stack: the verifier refuses BPF_ST into some
        // memory kinds (context), so a register value given by the front end stays a register there.
        let v: Val = "imm" in ins.value ? { imm: ins.value.imm } : b.frame ? val(ins.value) : { reg: N(ins.value.reg) };
        if ("imm" in v) {
          const imm = ins.size === 8 ? BigInt.asIntN(64, v.imm) : BigInt.asIntN(32, v.imm);
          // An immediate written to the context (parameter 0) goes through a register: older verifiers
          // (Linux 6.1 among them) refuse BPF_ST into the context.
          if (fitsImm32(imm) && !isContext(ins.base)) {
            const mi: MInsn = { insn: storeImm(SIZE[ins.size], 0, b.offset, imm), dst: b.node, defs: [], uses: b.node === FP ? [] : [b.node], effect: true };
            if (b.frame) mi.frame = b.frame;
            if (ins.core) mi.core = ins.core;
            return push(mi);
          }
          const t = temp();
          movImm(t, v.imm);
          v = { reg: t };
        }
        const uses = b.node === FP ? [v.reg] : [b.node, v.reg];
        const mi: MInsn = { insn: storeMem(SIZE[ins.size], 0, 0, b.offset), dst: b.node, src: v.reg, defs: [], uses, effect: true };
        if (b.frame) mi.frame = b.frame;
        if (ins.core) mi.core = ins.core;
        return push(mi);
      }
      case "stackAddr":
      case "mapFd":
      case "mapValue":
      case "funcAddr":
        return remat(N(ins.dst), ins);
      case "call": return lowerCall(call(ins.helper), ins.args, ins.dst);
      case "callFn": return lowerCall(callSub(0).withReference(ins.fn), ins.args, ins.dst);
      case "callKfunc": return lowerCall(callKfunc(ins.kfunc), ins.args, ins.dst);
      case "coreValue": {
        const local = ins.value ?? 0n;
        const d = N(ins.dst);
        const insn = fitsImm32(local) ? aluTemplate(AluOp.MOV, 64, BigInt.asIntN(64, local)) : ldImm64(0, local);
        return push({ insn, dst: d, defs: [d], uses: [], core: ins.core });
      }
      case "atomic": {
        checkOffset(ins.offset);
        const b = memBase(ins.base, ins.offset);
        const baseUses = b.node === FP ? [] : [b.node];
        const size = SIZE[ins.size];
        const OPS = { add: AtomicOp.ADD, or: AtomicOp.OR, and: AtomicOp.AND, xor: AtomicOp.XOR, xchg: AtomicOp.XCHG } as const;
        let mi: MInsn;
        if (ins.fetch === undefined && ins.rmw !== "xchg") {
          mi = { insn: atomic(OPS[ins.rmw], size, 0, 0, b.offset), dst: b.node, src: N(ins.value), defs: [], uses: [...baseUses, N(ins.value)], effect: true };
        } else {
          const f = ins.fetch === undefined ? temp() : N(ins.fetch);
          move(f, N(ins.value));
          const op = ins.rmw === "xchg" ? AtomicOp.XCHG : (OPS[ins.rmw] | AtomicOp.FETCH) as typeof AtomicOp.FETCH_ADD;
          mi = { insn: atomic(op, size, 0, 0, b.offset), dst: b.node, src: f, defs: [f], uses: [...baseUses, f], effect: true };
        }
        if (b.frame) mi.frame = b.frame;
        return push(mi);
      }
    }
  };

  const entryId = fn.blocks[0].id;
  const targetsEntry = fn.blocks.some((b) => {
    const t = b.terminator;
    return (t.op === "jmp" && t.target === entryId) || (t.op === "br" && (t.then === entryId || t.else === entryId));
  });
  const ids = new Set(fn.blocks.map((b) => b.id));
  if (ids.size !== fn.blocks.length) throw new CodegenError("INVALID_IR", fn.name, "duplicate block ids", fn.loc);
  const checkTarget = (id: number) => {
    if (!ids.has(id)) bad(`branch to missing block ${id}`);
  };

  // Parameters arrive in r1..r5; a separate entry block holds the copies if the IR entry is a loop head.
  const prologue: MInsn[] = [];
  out = prologue;
  loc = fn.loc;
  fn.params.forEach((p, i) => move(N(p), i + 1));
  if (targetsEntry) {
    let id = -Infinity;
    for (const x of ids) id = Math.max(id, x + 1); // not Math.max(...ids): a spread of every block id
    const pb: MBlock = { id, insns: prologue, term: { kind: "jmp", target: entryId } };
    m.blocks.push(pb);
    m.byId.set(id, pb);
  }

  for (const b of fn.blocks) {
    out = b === fn.blocks[0] && !targetsEntry ? prologue : [];
    for (const ins of b.instructions) {
      loc = ins.loc;
      lowerInsn(ins);
    }
    const t = b.terminator;
    loc = t.loc;
    let term: MBlock["term"];
    if (t.op === "ret") {
      setVal(0, val(t.value));
      term = { kind: "exit" };
    } else if (t.op === "jmp") {
      checkTarget(t.target);
      term = { kind: "jmp", target: t.target };
    } else {
      checkTarget(t.then);
      checkTarget(t.else);
      let a: Val = { reg: N(t.a) };
      const ca = constOf(t.a);
      if (ca !== undefined) a = { imm: ca };
      let b = val(t.b);
      let cond = t.cond;
      if ("imm" in a && "imm" in b) {
        term = { kind: "jmp", target: evalCond(cond, t.bits, a.imm, b.imm) ? t.then : t.else };
      } else if (t.then === t.else) {
        term = { kind: "jmp", target: t.then };
      } else {
        let bHome = "reg" in t.b ? N(t.b.reg) : undefined;
        if ("imm" in a) {
          [a, b] = [b, a];
          cond = SWAPPED[cond];
          bHome = N(t.a);
        }
        let bb: Node | bigint;
        if ("imm" in b) {
          const imm = t.bits === 32 ? BigInt.asIntN(32, b.imm) : BigInt.asIntN(64, b.imm);
          if (fitsImm32(imm)) bb = imm;
          else if (bHome !== undefined) bb = bHome;
          else {
            bb = temp();
            movImm(bb, b.imm);
          }
        } else bb = b.reg;
        term = { kind: "br", cond, bits: t.bits, a: (a as { reg: Node }).reg, b: bb, then: t.then, else: t.else };
      }
    }
    if (t.loc) term.loc = t.loc;
    const mb: MBlock = { id: b.id, insns: out, term };
    m.blocks.push(mb);
    m.byId.set(b.id, mb);
  }
  pruneUnreachable(m);
  return m;
}

/** Drops blocks not reachable from the entry (after constant-folded branches). */
export function pruneUnreachable(m: MFunction): void {
  const seen = new Set<number>();
  const stack = [m.blocks[0].id];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const t = m.byId.get(id)!.term;
    if (t.kind === "br") stack.push(t.then, t.else);
    else if (t.kind === "jmp") stack.push(t.target);
  }
  m.blocks = m.blocks.filter((b) => seen.has(b.id));
  for (const id of [...m.byId.keys()]) if (!seen.has(id)) m.byId.delete(id);
}
