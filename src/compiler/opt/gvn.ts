// Dominator-scoped value numbering: a pure computation or a load already available in a dominating
// position (same operands; for loads, no write to the memory it reads in between) is reused, and a
// load right after a store to the same place takes the stored value.

import type { BlockId, IrInstruction, Operand, VReg } from "../ir.js";
import { newVreg, ssaDominators, type SsaFunction } from "./ssa.js";
import { defOf } from "./insn.js";
import type { KnownBits } from "./known-bits.js";
import { memoryModel, memoryVersions, writeIds } from "./memory.js";
import { walkTree } from "./recurse.js";

const COMMUTATIVE = new Set(["add", "mul", "and", "or", "xor"]);
/**
 * A load is reused only this many instructions (in dominator-tree order) after the one it repeats:
 * reading memory again costs one instruction, keeping the value in a register across a long stretch
 * of code costs a register and often a spill and a reload.
 */
const LOAD_REUSE_DISTANCE = 40;
/**
 * A call counts as this many instructions of distance: a value kept across calls needs one of the four
 * callee-saved registers, and a register holding a compared constant splits the verifier's paths where
 * a value read again would not.
 */
const CALL_DISTANCE = 20;

function opKey(o: Operand, bits: 32 | 64 = 64): string {
  return "reg" in o ? `r${o.reg}` : `#${BigInt.asUintN(bits, o.imm)}`;
}

/** Options of {@link valueNumbering}. */
export interface GvnOptions {
  /** Parameter 0 is the program context (see memoryModel). */
  contextParam: boolean;
  /** Known bits, to forward a stored value into a narrower load only when it fits. */
  known?: KnownBits;
}

/** Runs value numbering on `fn` in place; redundant instructions become copies. Returns whether anything changed. */
export function valueNumbering(fn: SsaFunction, opts: GvnOptions): boolean {
  const dom = ssaDominators(fn);
  const mm = memoryModel(fn, opts.contextParam);
  const versions = memoryVersions(fn, mm, dom.rpo);
  const wids = writeIds(fn, mm, dom.rpo);
  const classIndex = new Map(mm.all.map((c, i) => [c, i]));
  const by = new Map(fn.blocks.map((b) => [b.id, b]));
  const table = new Map<string, VReg>();
  const position = new Map<VReg, number>();
  let clock = 0;
  let any = false;

  const pureKey = (ins: IrInstruction): string | undefined => {
    switch (ins.op) {
      case "alu": {
        let a = opKey(ins.a, ins.bits), b = opKey(ins.b, ins.bits);
        if (COMMUTATIVE.has(ins.alu) && a > b) [a, b] = [b, a];
        return `alu ${ins.alu}${ins.bits} ${a} ${b}`;
      }
      case "neg": return `neg${ins.bits} r${ins.src}`;
      case "ext": return `ext ${ins.signed ? "s" : "z"}${ins.from} r${ins.src}`;
      case "bswap": return `bswap${ins.bits} r${ins.src}`;
      default: return undefined;
    }
  };
  const memKey = (size: number, signed: boolean, base: VReg, offset: number, cur: Int32Array): string => {
    let k = `load ${size}${signed ? "s" : "u"} r${base} ${offset}`;
    for (const c of mm.classesOf(base)) k += ` ${cur[classIndex.get(c)!]}`;
    return k;
  };
  const fits = (v: VReg, size: number): boolean => {
    if (size === 8) return true;
    if (!opts.known) return false;
    const k = opts.known.get(v);
    const high = ((1n << 64n) - 1n) & ~((1n << BigInt(size * 8)) - 1n);
    return (k.zero & high) === high;
  };

  // Down the dominator tree (as deep as the function is long: walkTree, no recursion).
  walkTree(fn.blocks[0].id, (id) => dom.children.get(id), (id) => {
    const b = by.get(id)!;
    const undo: [string, VReg | undefined][] = [];
    const put = (key: string, v: VReg) => {
      undo.push([key, table.get(key)]);
      table.set(key, v);
    };
    const cur = versions.get(id)!.slice();
    b.insns = b.insns.flatMap((ins): IrInstruction | IrInstruction[] => {
      const d = defOf(ins);
      // a % b next to an available a / b: a - (a / b) * b (eBPF divides twice otherwise; a division
      // costs far more than a multiply, and cpu v3 spells signed ones as long sequences).
      if (ins.op === "alu" && (ins.alu === "mod" || ins.alu === "smod")) {
        const q = table.get(`alu ${ins.alu === "mod" ? "div" : "sdiv"}${ins.bits} ${opKey(ins.a, ins.bits)} ${opKey(ins.b, ins.bits)}`);
        if (q !== undefined) {
          any = true;
          const t = newVreg(fn);
          const loc = ins.loc ? { loc: ins.loc } : {};
          clock += 2;
          return [
            { op: "alu", alu: "mul", bits: ins.bits, dst: t, a: { reg: q }, b: ins.b, ...loc },
            { op: "alu", alu: "sub", bits: ins.bits, dst: ins.dst, a: ins.a, b: { reg: t }, ...loc },
          ];
        }
      }
      let key: string | undefined;
      if (d !== undefined) {
        key = pureKey(ins);
        if (ins.op === "load" && !ins.core) key = memKey(ins.size, ins.signed === true, ins.base, ins.offset, cur);
      }
      let out = ins;
      // A call counts extra: a value kept across it needs one of the four callee-saved registers.
      clock += ins.op === "call" || ins.op === "callFn" || ins.op === "callKfunc" ? CALL_DISTANCE : 1;
      if (key !== undefined && d !== undefined) {
        let hit = table.get(key);
        if (hit !== undefined && ins.op === "load" && clock - (position.get(hit) ?? clock) > LOAD_REUSE_DISTANCE) {
          // Too far: this load becomes the one later loads (in this subtree) reuse.
          put(key, d);
          position.set(d, clock);
          hit = undefined;
        } else if (hit !== undefined && hit !== d) {
          any = true;
          out = { op: "mov", dst: d, src: { reg: hit }, ...(ins.loc ? { loc: ins.loc } : {}) };
        } else if (hit === undefined) {
          put(key, d);
          position.set(d, clock);
        }
      }
      const w = wids.get(ins);
      if (w !== undefined) for (const c of mm.writes(ins)) cur[classIndex.get(c)!] = w;
      if (ins.op === "store" && !ins.core && "reg" in ins.value && fits(ins.value.reg, ins.size)) {
        const fk = memKey(ins.size, false, ins.base, ins.offset, cur);
        put(fk, ins.value.reg);
        position.set(ins.value.reg, clock);
      }
      return out;
    });
    return () => {
      for (let i = undo.length - 1; i >= 0; i--) {
        const [key, prev] = undo[i];
        if (prev === undefined) table.delete(key);
        else table.set(key, prev);
      }
    };
  });
  return any;
}
