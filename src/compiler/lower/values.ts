// Values and places produced while lowering expressions: an operand with its compiler type, and
// assignable locations (register locals, direct memory, kernel memory reached with probe reads).

import type { CoreAccess } from "../module.js";
import type { Operand, VReg } from "../ir.js";
import type { Ty } from "../types.js";

/** An evaluated expression. Aggregates (`mem`) and references evaluate to their address. */
export interface Value {
  readonly ty: Ty;
  readonly op: Operand;
}

/** A local variable: a register (scalars and addresses) or a compile-time constant. */
export type Local =
  | { readonly k: "reg"; readonly reg: VReg; readonly ty: Ty; readonly mutable: boolean; readonly name: string }
  | { readonly k: "const"; readonly value: Value }
  /** A variable whose declaration was already reported: uses abort quietly (no follow-on errors). */
  | { readonly k: "failed" };

/**
 * An assignable or readable location:
 * - `local`: a register variable;
 * - `value`: a read-only value with no location of its own (the address of an embedded kernel member);
 * - `mem`: `ty` at `base + offset` in directly accessible memory (stack, map value, packet, context);
 * - `kmem`: kernel memory at `base + offset` where `base` is a kernel address: reads use
 *   bpf_probe_read_kernel, the offset comes from a CO-RE relocation of the member at `path` of kernel
 *   type `rootId` (without `rootId`, `base + offset` is the address itself: an array element).
 */
export type Place =
  | { readonly k: "local"; readonly local: Extract<Local, { k: "reg" }> }
  | { readonly k: "value"; readonly value: Value; readonly what: string }
  | { readonly k: "mem"; readonly base: VReg; readonly offset: number; readonly ty: Ty; readonly core?: CoreAccess; readonly readonly?: boolean; readonly what: string }
  | { readonly k: "kmem"; readonly base: VReg; readonly rootId?: number; readonly path?: readonly number[]; readonly offset: number; readonly size: number; readonly ty: Ty; readonly what: string };

export const imm = (v: bigint | number): Operand => ({ imm: BigInt(v) });
export const reg = (r: VReg): Operand => ({ reg: r });
