// Builders for JMP and JMP32 instructions: conditional jumps, ja/gotol/may_goto/gotox, calls and exit.
// Targets are a slot offset relative to the next instruction, or a label resolved by resolveReferences.

import { AsmError } from "../errors.js";
import { helperId } from "./helpers.js";
import { Instruction } from "./instruction.js";
import { Class, JumpOp, MAY_GOTO, PseudoCall, Source, type ConditionalJumpOp } from "./opcode.js";
import type { Register } from "./register.js";
import { imm32, int32, off16, oneOf, reg } from "./values.js";

/** A jump target: a slot offset relative to the next instruction, or a label (`symbol`) to resolve. */
export type Target = number | string;

const COND_OPS: readonly number[] = [
  JumpOp.JEQ, JumpOp.JGT, JumpOp.JGE, JumpOp.JSET, JumpOp.JNE, JumpOp.JSGT, JumpOp.JSGE, JumpOp.JLT, JumpOp.JLE, JumpOp.JSLT, JumpOp.JSLE,
];

function condOp(op: number, what: string): ConditionalJumpOp {
  return oneOf(op, COND_OPS, `${what}: conditional jump operation`) as ConditionalJumpOp;
}

/** Applies a target to the offset field (or to `reference` for labels). */
function withOffsetTarget(insn: Instruction, target: Target, what: string): Instruction {
  if (typeof target === "string") return insn.withReference(checkLabel(target, what));
  insn.offset = off16(target, what);
  return insn;
}

/** Applies a target to the imm field (gotol, pseudo calls, PSEUDO_FUNC loads). */
export function withImmTarget(insn: Instruction, target: Target, what: string): Instruction {
  if (typeof target === "string") return insn.withReference(checkLabel(target, what));
  insn.imm = int32(target, what); // keeps next_imm (0) of ld_imm64
  return insn;
}

function checkLabel(label: string, what: string): string {
  if (label.length === 0) throw new AsmError("ASM_INVALID_OPERAND", `${what}: empty label`);
  return label;
}

/** `if dst OP (s64)imm goto target` — 64-bit compare with an immediate, e.g. `if r0 == 0x0 goto pc+1`. */
export function jumpImm(op: ConditionalJumpOp, dst: Register, imm: number | bigint, target: Target): Instruction {
  const w = "jumpImm";
  const insn = new Instruction(Class.JMP | condOp(op, w) | Source.K, reg(dst, `${w}: dst`), 0, 0, imm32(imm, `${w}: imm`));
  return withOffsetTarget(insn, target, `${w}: target`);
}

/** `if dst OP src goto target` — 64-bit compare of two registers. */
export function jumpReg(op: ConditionalJumpOp, dst: Register, src: Register, target: Target): Instruction {
  const w = "jumpReg";
  const insn = new Instruction(Class.JMP | condOp(op, w) | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`));
  return withOffsetTarget(insn, target, `${w}: target`);
}

/** `if (u32)dst OP (u32)imm goto target` — 32-bit compare with an immediate (`if w1 > 0x5 goto ...`). */
export function jump32Imm(op: ConditionalJumpOp, dst: Register, imm: number | bigint, target: Target): Instruction {
  const w = "jump32Imm";
  const insn = new Instruction(Class.JMP32 | condOp(op, w) | Source.K, reg(dst, `${w}: dst`), 0, 0, imm32(imm, `${w}: imm`));
  return withOffsetTarget(insn, target, `${w}: target`);
}

/** `if (u32)dst OP (u32)src goto target` — 32-bit compare of two registers. */
export function jump32Reg(op: ConditionalJumpOp, dst: Register, src: Register, target: Target): Instruction {
  const w = "jump32Reg";
  const insn = new Instruction(Class.JMP32 | condOp(op, w) | Source.X, reg(dst, `${w}: dst`), reg(src, `${w}: src`));
  return withOffsetTarget(insn, target, `${w}: target`);
}

/** `goto target` — unconditional jump with a 16-bit offset (JMP | JA). */
export function ja(target: Target): Instruction {
  return withOffsetTarget(new Instruction(Class.JMP | JumpOp.JA), target, "ja: target");
}

/** `gotol target` — unconditional jump with a 32-bit offset in imm (JMP32 | JA, v4). */
export function gotol(target: Target): Instruction {
  return withImmTarget(new Instruction(Class.JMP32 | JumpOp.JA), target, "gotol: target");
}

/** `may_goto target` — jump when the loop budget is used up (JMP | JCOND, src 0; 6.9+). */
export function mayGoto(target: Target): Instruction {
  return withOffsetTarget(new Instruction(Class.JMP | JumpOp.JCOND, 0, MAY_GOTO), target, "mayGoto: target");
}

/** `gotox dst` — indirect jump to the instruction address held in dst (JMP | JA | X; newest kernels). */
export function gotox(dst: Register): Instruction {
  return new Instruction(Class.JMP | JumpOp.JA | Source.X, reg(dst, "gotox: dst"));
}

/**
 * `r0 = helper(r1, ..., r5)` — call a helper by bpf_func_id (a number, or a name such as
 * `"bpf_map_lookup_elem"` / `"map_lookup_elem"` looked up in the helper table).
 */
export function call(helper: number | string): Instruction {
  let id: number;
  if (typeof helper === "string") {
    const found = helperId(helper);
    if (found === undefined) throw new AsmError("ASM_INVALID_OPERAND", `call: unknown helper "${helper}"`);
    id = found;
  } else {
    id = int32(helper, "call: helper id");
  }
  return new Instruction(Class.JMP | JumpOp.CALL, 0, PseudoCall.HELPER, 0, BigInt(id));
}

/** `r0 = subprog(r1, ..., r5)` — bpf-to-bpf call; imm is the pc-relative target (or a label). */
export function callSub(target: Target): Instruction {
  return withImmTarget(new Instruction(Class.JMP | JumpOp.CALL, 0, PseudoCall.CALL), target, "callSub: target");
}

/**
 * `r0 = kfunc(r1, ..., r5)` — call a kernel function by BTF id (or by name, kept in `reference` for the
 * loader to resolve). `fdIndex` is the fd_array index of the module BTF, 0 for vmlinux.
 */
export function callKfunc(btf: number | string, fdIndex = 0): Instruction {
  const insn = new Instruction(Class.JMP | JumpOp.CALL, 0, PseudoCall.KFUNC, off16(fdIndex, "callKfunc: fd index"));
  if (typeof btf === "string") return insn.withReference(checkLabel(btf, "callKfunc: name"));
  insn.constant = BigInt(int32(btf, "callKfunc: BTF id"));
  return insn;
}

/** `return r0` — leave the program or subprogram. */
export function exit(): Instruction {
  return new Instruction(Class.JMP | JumpOp.EXIT);
}
