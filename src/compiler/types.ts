// The kernel language's own types, computed bottom-up by the compiler (TypeScript's checker erases
// integer widths: u8 and u32 are both `number`). Memory types carry the shared struct layouts.

import type { AnyLayout } from "../types/index.js";
import type { CType } from "./module.js";

/** A sized integer. 8–32-bit integers are `number` in TypeScript, 64-bit ones `bigint`. */
export interface IntTy {
  readonly k: "int";
  readonly bits: 8 | 16 | 32 | 64;
  readonly signed: boolean;
}

/**
 * Compiler types:
 * - `int`, `bool`: scalars held in registers;
 * - `lit`: an integer constant whose type is decided by its use (`big` when written as a bigint);
 * - `mem`: an aggregate (struct, union, array, bytes) in memory — its value is its address;
 * - `ref`: a reference to a scalar in memory (map lookup of an integer value, packet load of a u16...);
 *   reading it loads the scalar. Both `mem` and `ref` may be null until checked;
 * - `kptr`: a kernel object (BTF struct) reached through kernel memory, read with probe reads and CO-RE
 *   (`btf`: a pointer the verifier knows the BTF type of, read with direct CO-RE-relocated loads);
 * - `karray`: an integer array embedded in a kernel struct (`task.comm`); its value is the array's
 *   kernel address (CO-RE-relocated). Indexing reads one element; a whole read copies it (see {@link KernelArrayTy});
 * - `ctx`: the program's context pointer (`args`: its `ctx.args` view of named arguments); `map`: a map handle; `str`: a string literal.
 */
export type Ty =
  | IntTy
  | { readonly k: "bool" }
  | { readonly k: "void" }
  | { readonly k: "lit"; readonly big: boolean }
  /** `readonly`: memory programs may not write (a `.rodata` variable or table, or part of one). */
  | { readonly k: "mem"; readonly layout: AnyLayout; readonly readonly?: true }
  | { readonly k: "ref"; readonly to: IntTy | { readonly k: "bool" } }
  | { readonly k: "kptr"; readonly name: string; readonly btfKind: "struct" | "union"; readonly btf?: true; readonly anon?: AnonymousMember }
  | KernelArrayTy
  | { readonly k: "ctx"; readonly args?: true }
  | { readonly k: "map"; readonly name: string }
  | { readonly k: "str"; readonly value: string }
  | { readonly k: "layout"; readonly layout: AnyLayout }
  | { readonly k: "null" }
  | { readonly k: "never" };

/**
 * An integer array inside a kernel struct, reached through a kernel pointer: `count` elements of `elem`,
 * `size` bytes. `btf`: the struct pointer is a BTF pointer (direct loads at constant offsets);
 * otherwise reads go through bpf_probe_read_kernel. `align`: the alignment its offset is known to have.
 */
export interface KernelArrayTy {
  readonly k: "karray";
  readonly elem: IntTy;
  readonly count: number;
  readonly size: number;
  readonly align: 1 | 2 | 4 | 8;
  readonly btf?: true;
}

/**
 * A kernel member whose type is an anonymous struct/union (`in6_addr.in6_u`): CO-RE relocations need a
 * named root, so accesses through it continue the access path of its named ancestor `rootId` (whose
 * address the kptr's value is): `path`/`offset` lead from the ancestor to the member, `id` is the
 * anonymous type.
 */
export interface AnonymousMember {
  readonly id: number;
  readonly rootId: number;
  readonly path: readonly number[];
  readonly offset: number;
}

export const U8: IntTy = { k: "int", bits: 8, signed: false };
export const U16: IntTy = { k: "int", bits: 16, signed: false };
export const U32: IntTy = { k: "int", bits: 32, signed: false };
export const U64: IntTy = { k: "int", bits: 64, signed: false };
export const I8: IntTy = { k: "int", bits: 8, signed: true };
export const I16: IntTy = { k: "int", bits: 16, signed: true };
export const I32: IntTy = { k: "int", bits: 32, signed: true };
export const I64: IntTy = { k: "int", bits: 64, signed: true };
export const BOOL = { k: "bool" } as const;
export const VOID = { k: "void" } as const;
export const NEVER = { k: "never" } as const;
export const LIT = { k: "lit", big: false } as const;
export const BIGLIT = { k: "lit", big: true } as const;

/** Integer type by name (`u8`...`i64`), or undefined. */
export function intByName(name: string): IntTy | undefined {
  switch (name) {
    case "u8": return U8;
    case "u16": return U16;
    case "u32": return U32;
    case "u64": return U64;
    case "i8": return I8;
    case "i16": return I16;
    case "i32": return I32;
    case "i64": return I64;
    default: return undefined;
  }
}

/** The type a scalar layout (`u32`, `bool`...) describes, or undefined for aggregates. */
export function scalarOfLayout(l: AnyLayout): IntTy | { readonly k: "bool" } | undefined {
  if (l.kind === "bool") return BOOL;
  return intByName(l.kind);
}

/** `u32`, `i64`, `bool`, `struct exec_event`... for messages. */
export function showTy(t: Ty): string {
  switch (t.k) {
    case "int": return `${t.signed ? "i" : "u"}${t.bits}`;
    case "lit": return t.big ? "bigint constant" : "integer constant";
    case "mem": return t.layout.btfName ? `struct ${t.layout.btfName}` : `${t.layout.kind} (${t.layout.size} bytes)`;
    case "ref": return `reference to ${showTy(t.to)}`;
    case "kptr": return `kernel ${t.btfKind} ${t.name}`;
    case "karray": return `kernel array ${showTy(t.elem)}[${t.count}]`;
    case "map": return `map ${t.name}`;
    case "str": return "string";
    default: return t.k;
  }
}

/** Whether a value of this type is a TypeScript bigint. */
export function isBig(t: Ty): boolean {
  return (t.k === "int" && t.bits === 64) || (t.k === "lit" && t.big);
}

/** The 32-bit or 64-bit "computation" type of an integer after C's integer promotions. */
export function promote(t: IntTy): IntTy {
  if (t.bits === 64) return t;
  if (t.bits < 32) return I32;
  return t;
}

/** C's usual arithmetic conversions for two integers of the same TypeScript kind. */
export function arithmeticType(a: IntTy, b: IntTy): IntTy {
  const pa = promote(a), pb = promote(b);
  const bits = Math.max(pa.bits, pb.bits) as 32 | 64;
  const signed = pa.bits === pb.bits ? pa.signed && pb.signed : (pa.bits > pb.bits ? pa.signed : pb.signed);
  return { k: "int", bits, signed };
}

/** Range of an integer type. */
export function intRange(t: IntTy): { min: bigint; max: bigint } {
  const b = BigInt(t.bits);
  return t.signed ? { min: -(1n << (b - 1n)), max: (1n << (b - 1n)) - 1n } : { min: 0n, max: (1n << b) - 1n };
}

/** Whether the integer `v` is a value of type `t`. */
export function fits(v: bigint, t: IntTy): boolean {
  const r = intRange(t);
  return v >= r.min && v <= r.max;
}

/**
 * The type of integer constants that have no typed operand to take their type from: the first of
 * `i32`, `u32` (numbers) or `i64`, `u64` (bigints) that holds every one of `values`, or undefined.
 */
export function literalType(big: boolean, ...values: bigint[]): IntTy | undefined {
  const candidates = big ? [I64, U64] : [I32, U32];
  return candidates.find((t) => values.every((v) => fits(v, t)));
}

/** Wraps `v` into `t`'s range (two's complement). */
export function wrap(v: bigint, t: IntTy): bigint {
  return t.signed ? BigInt.asIntN(t.bits, v) : BigInt.asUintN(t.bits, v);
}

/** The C type for an integer type (for BTF). */
export function cInt(t: IntTy | { readonly k: "bool" }): CType {
  if (t.k === "bool") return { kind: "int", name: "_Bool", size: 1, signed: false, bool: true };
  const names: Record<string, string> = {
    u8: "unsigned char", u16: "unsigned short", u32: "unsigned int", u64: "unsigned long long",
    i8: "signed char", i16: "short", i32: "int", i64: "long long",
  };
  return { kind: "int", name: names[showTy(t)]!, size: (t.bits / 8) as 1 | 2 | 4 | 8, signed: t.signed };
}

const structCache = new WeakMap<object, CType>();

/** The C type of a shared layout (struct, union, array, bytes, cstring, scalars). */
export function cTypeOfLayout(l: AnyLayout): CType {
  const s = scalarOfLayout(l);
  if (s) return cInt(s);
  const cached = structCache.get(l);
  if (cached) return cached;
  let t: CType;
  const anyL = l as AnyLayout & { fields?: Record<string, { offset: number; layout: AnyLayout }>; element?: AnyLayout; length?: number };
  switch (l.kind) {
    case "bytes":
    case "padding":
      t = { kind: "array", element: cInt(U8), length: anyL.length ?? l.size };
      break;
    case "cstring":
      t = { kind: "array", element: { kind: "int", name: "char", size: 1, signed: true, char: true }, length: anyL.length ?? l.size };
      break;
    case "array":
      t = { kind: "array", element: cTypeOfLayout(anyL.element!), length: anyL.length! };
      break;
    case "struct":
    case "union": {
      const members = Object.entries(anyL.fields ?? {})
        .filter(([, f]) => f.layout.kind !== "padding")
        .map(([name, f]) => ({ name, type: cTypeOfLayout(f.layout), bitOffset: f.offset * 8 }));
      t = { kind: l.kind, ...(l.btfName ? { name: l.btfName } : {}), size: l.size, members };
      break;
    }
    default:
      t = { kind: "array", element: cInt(U8), length: l.size };
  }
  structCache.set(l, t);
  return t;
}

/** The C type of a compiler type (for globals and prototypes). */
export function cTypeOf(t: Ty): CType {
  switch (t.k) {
    case "int":
    case "bool":
      return cInt(t);
    case "mem":
      return cTypeOfLayout(t.layout);
    case "lit":
      return cInt(t.big ? I64 : I32);
    default:
      return { kind: "ptr", target: { kind: "void" } };
  }
}
