// Building blocks shared by the program kinds' declarations in ./programs/: the program value, packet
// access and traced-function arguments. Types only.

import type { AnyLayout, Infer } from "../types/index.js";

/** A program declaration; the exported const's name is the program's name. */
export interface Program<Kind extends string> {
  readonly kind: Kind;
}

/** Packet memory: `load` gives a bounds-checked view of a header, or null when the packet is too short. */
export interface PacketAccess {
  /** The header `layout` at byte `offset` of the packet, or null when it does not fit. */
  load<L extends AnyLayout>(layout: L, offset: number): Infer<L> | null;
  /** Packet length in bytes. */
  readonly len: number;
}

/** Raw tracepoint / BTF tracepoint / fentry context: the traced function's arguments as u64. */
export interface ArgsContext {
  /**
   * Argument `n` (0-based), as a u64 or as the type given: an integer type (`ctx.arg<i32>(1)` keeps the
   * low 32 bits, sign-extended) or a kernel struct (`ctx.arg<sock>(0)`: fields read with CO-RE).
   */
  arg<T = bigint>(n: number): T;
}

/** The named arguments `A` of a traced function as `ctx.args` (nothing extra when `A` is unknown). */
export type NamedArgs<A> = [A] extends [never] ? unknown : { readonly args: Readonly<A> };
