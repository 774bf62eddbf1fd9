// Structural checks of an IR function before optimization and selection: block ids, branch targets,
// vreg ranges, declared stack slots and the parameter count, reported as typed CodegenErrors.

import type { IrFunction, Operand, VReg } from "../ir.js";
import { termUsesOf, usesOf, defOf } from "../opt/insn.js";
import { CodegenError } from "./error.js";

/** Throws CodegenError (INVALID_IR or TOO_MANY_ARGUMENTS) when `fn` is not well formed. */
export function validateIr(fn: IrFunction): void {
  const bad = (detail: string, loc = fn.loc): never => {
    throw new CodegenError("INVALID_IR", fn.name, detail, loc);
  };
  if (fn.blocks.length === 0) bad("function has no blocks");
  if (fn.params.length > 5) throw new CodegenError("TOO_MANY_ARGUMENTS", fn.name, `${fn.params.length} parameters; eBPF passes at most 5 (r1-r5)`, fn.loc);
  const ids = new Set(fn.blocks.map((b) => b.id));
  if (ids.size !== fn.blocks.length) bad("duplicate block ids");
  const slots = new Set(fn.slots.map((s) => s.id));
  const vreg = (v: VReg, loc = fn.loc) => {
    if (!Number.isInteger(v) || v < 0 || v >= fn.vregCount) bad(`vreg ${v} is outside 0..${fn.vregCount - 1}`, loc);
  };
  const imm = (o: Operand, loc = fn.loc) => {
    if ("imm" in o && (typeof o.imm !== "bigint" || o.imm < -(2n ** 63n) || o.imm >= 2n ** 64n)) bad(`immediate ${String(o.imm)} is outside [-2^63, 2^64)`, loc);
  };
  for (const p of fn.params) vreg(p);
  for (const b of fn.blocks) {
    for (const ins of b.instructions) {
      for (const v of usesOf(ins)) vreg(v, ins.loc);
      const d = defOf(ins);
      if (d !== undefined) vreg(d, ins.loc);
      if (ins.op === "stackAddr" && !slots.has(ins.slot)) bad(`stack slot ${ins.slot} is not declared`, ins.loc);
      if (ins.op === "mov") imm(ins.src, ins.loc);
      if (ins.op === "alu") {
        imm(ins.a, ins.loc);
        imm(ins.b, ins.loc);
      }
    }
    const t = b.terminator;
    for (const v of termUsesOf(t)) vreg(v, t.loc);
    if (t.op === "br") {
      if (!ids.has(t.then)) bad(`branch to missing block ${t.then}`, t.loc);
      if (!ids.has(t.else)) bad(`branch to missing block ${t.else}`, t.loc);
    } else if (t.op === "jmp" && !ids.has(t.target)) bad(`branch to missing block ${t.target}`, t.loc);
  }
}
