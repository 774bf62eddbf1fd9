// Operand-level helpers for the IR passes: the vreg an instruction defines, the vregs it reads, and
// rewriting of its operands (register renaming, constants substituted where eBPF takes immediates).

import type { IrInstruction, IrTerminator, Operand, VReg } from "../ir.js";

/** The vreg an instruction writes, if any (every IR instruction writes at most one). */
export function defOf(ins: IrInstruction): VReg | undefined {
  switch (ins.op) {
    case "store": return undefined;
    case "call": case "callFn": case "callKfunc": return ins.dst;
    case "atomic": return ins.fetch;
    default: return ins.dst;
  }
}

/** Vregs an instruction reads (with repetition). */
export function usesOf(ins: IrInstruction): VReg[] {
  const out: VReg[] = [];
  forEachUse(ins, (v) => out.push(v));
  return out;
}

/** Calls `f` for every vreg an instruction reads (with repetition), without allocating. */
export function forEachUse(ins: IrInstruction, f: (v: VReg) => void): void {
  switch (ins.op) {
    case "mov":
      if ("reg" in ins.src) f(ins.src.reg);
      return;
    case "alu":
      if ("reg" in ins.a) f(ins.a.reg);
      if ("reg" in ins.b) f(ins.b.reg);
      return;
    case "neg": case "ext": case "bswap": f(ins.src); return;
    case "load": f(ins.base); return;
    case "store":
      f(ins.base);
      if ("reg" in ins.value) f(ins.value.reg);
      return;
    case "call": case "callFn": case "callKfunc":
      for (const a of ins.args) if ("reg" in a) f(a.reg);
      return;
    case "atomic": f(ins.base); f(ins.value); return;
    default: return;
  }
}

/** Vregs a terminator reads. */
export function termUsesOf(t: IrTerminator): VReg[] {
  if (t.op === "br") return "reg" in t.b ? [t.a, t.b.reg] : [t.a];
  if (t.op === "ret") return "reg" in t.value ? [t.value.reg] : [];
  return [];
}

/** Whether an instruction has effects beyond defining its vreg (memory, calls), so it must stay. */
export function hasEffect(ins: IrInstruction): boolean {
  return ins.op === "store" || ins.op === "atomic" || ins.op === "call" || ins.op === "callFn" || ins.op === "callKfunc";
}

/**
 * A substitution for used vregs: returns the operand to use instead (or undefined to keep it).
 * Immediates are only placed where the IR and eBPF take them (mov source, ALU operands, call
 * arguments, branch right-hand side, return value); elsewhere only registers are substituted.
 */
export type UseMap = (v: VReg) => Operand | undefined;

function sub(o: Operand, f: UseMap): Operand {
  if (!("reg" in o)) return o;
  const r = f(o.reg);
  return r === undefined || sameOperand(r, o) ? o : r;
}

function subReg(v: VReg, f: UseMap): VReg {
  const o = f(v);
  return o && "reg" in o ? o.reg : v;
}

/** The instruction with its used operands substituted (the same object when nothing changes). */
export function mapUses(ins: IrInstruction, f: UseMap): IrInstruction {
  switch (ins.op) {
    case "mov": {
      const src = sub(ins.src, f);
      return src === ins.src ? ins : { ...ins, src };
    }
    case "alu": {
      const a = sub(ins.a, f), b = sub(ins.b, f);
      return a === ins.a && b === ins.b ? ins : { ...ins, a, b };
    }
    case "neg": case "ext": case "bswap": {
      const src = subReg(ins.src, f);
      return src === ins.src ? ins : { ...ins, src };
    }
    case "load": {
      const base = subReg(ins.base, f);
      return base === ins.base ? ins : { ...ins, base };
    }
    case "store": {
      // Stores keep register values: an immediate store (BPF_ST) is refused into some memory kinds.
      const base = subReg(ins.base, f);
      const v = ins.value;
      const nv = "reg" in v ? subReg(v.reg, f) : undefined;
      if (base === ins.base && (nv === undefined || nv === (v as { reg: VReg }).reg)) return ins;
      return { ...ins, base, value: nv === undefined ? v : { reg: nv } };
    }
    case "call": case "callFn": case "callKfunc": {
      let args: Operand[] | undefined;
      for (let i = 0; i < ins.args.length; i++) {
        const a = sub(ins.args[i], f);
        if (a !== ins.args[i]) (args ??= [...ins.args])[i] = a;
      }
      return args ? { ...ins, args } : ins;
    }
    case "atomic": {
      const base = subReg(ins.base, f), value = subReg(ins.value, f);
      return base === ins.base && value === ins.value ? ins : { ...ins, base, value };
    }
    default: return ins;
  }
}

/** The terminator with its used operands substituted. */
export function mapTermUses(t: IrTerminator, f: UseMap): IrTerminator {
  if (t.op === "br") {
    const a = subReg(t.a, f);
    const b = sub(t.b, f);
    return a === t.a && b === t.b ? t : { ...t, a, b };
  }
  if (t.op === "ret") {
    const v = sub(t.value, f);
    return v === t.value ? t : { ...t, value: v };
  }
  return t;
}

/** The instruction with its defined vreg renamed. */
export function mapDef(ins: IrInstruction, d: VReg): IrInstruction {
  switch (ins.op) {
    case "store": return ins;
    case "atomic": return ins.fetch === undefined ? ins : { ...ins, fetch: d };
    case "call": case "callFn": case "callKfunc": return ins.dst === undefined ? ins : { ...ins, dst: d };
    default: return { ...ins, dst: d };
  }
}

/** Operand equality. */
export function sameOperand(a: Operand, b: Operand): boolean {
  if ("reg" in a) return "reg" in b && a.reg === b.reg;
  return "imm" in b && BigInt.asUintN(64, a.imm) === BigInt.asUintN(64, b.imm);
}

/** An operand's constant (unsigned 64-bit view), if it is an immediate. */
export function immOf(o: Operand): bigint | undefined {
  return "imm" in o ? BigInt.asUintN(64, o.imm) : undefined;
}
