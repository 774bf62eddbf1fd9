// Shared machinery of struct and union layouts: member validation, options, type-level field mappings,
// and the per-layout view class.

import { LayoutError, LayoutErrorCode, typeName } from "./errors.js";
import { codecOf, type AnyLayout, type Codec, type FieldView, type Infer, type Input } from "./layout.js";
import { recordViewClass, type MemberSpec } from "./views.js";

/** The members of a struct or union: name → layout, in declaration order. */
export type FieldMap = { readonly [name: string]: AnyLayout };

type IsPadding<L> = L extends { readonly kind: "padding" } ? true : false;

/** Decoded value of a struct with members `F` (padding members omitted). */
export type StructValue<F extends FieldMap> = {
  -readonly [K in keyof F as IsPadding<F[K]> extends true ? never : K]: Infer<F[K]>;
};

/** What `encode` accepts for a struct with members `F`: every non-padding member. */
export type StructInput<F extends FieldMap> = {
  readonly [K in keyof F as IsPadding<F[K]> extends true ? never : K]: Input<F[K]>;
};

/** Lazy accessor object of a struct or union: one getter/setter per non-padding member. */
export type RecordView<F extends FieldMap> = {
  -readonly [K in keyof F as IsPadding<F[K]> extends true ? never : K]: FieldView<F[K]>;
};

/** Placement of one member. */
export interface FieldInfo<L extends AnyLayout = AnyLayout> {
  /** Byte offset from the start of the struct (0 for union members). */
  readonly offset: number;
  /** The member's layout. */
  readonly layout: L;
}

/** Member table of a struct or union, in declaration order (padding members included). */
export type FieldTable<F extends FieldMap> = { readonly [K in keyof F]: FieldInfo<F[K]> };

/** Options of `struct` and `union`. */
export interface StructOptions {
  /** C/BTF type name (`exec_event`): carried as `btfName`, shown by `describe` and in error paths. */
  readonly name?: string;
  /** `__attribute__((packed))`: no padding between members, alignment 1 (unless `align` is given). */
  readonly packed?: boolean;
  /** `__attribute__((aligned(n)))`: raise the alignment (a power of two) and round the size up to it. */
  readonly align?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Internal: a validated member. */
export interface Member extends MemberSpec {
  readonly layout: AnyLayout;
}

/** Internal: validates members and options of `struct`/`union`. */
export function checkRecord(
  what: "struct" | "union",
  fields: unknown,
  options: unknown,
): { members: Member[]; name: string | undefined; packed: boolean; align: number | undefined } {
  const where = `${what}({...})`;
  const bad = (msg: string): never => {
    throw new LayoutError(LayoutErrorCode.Definition, `${where}: ${msg}`);
  };
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    bad(`members must be an object of name → layout, got ${typeName(fields)}`);
  }
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    bad(`options must be an object, got ${typeName(options)}`);
  }
  const opts = (options ?? {}) as StructOptions;
  const name = opts.name;
  if (name !== undefined && (typeof name !== "string" || !IDENT.test(name))) {
    bad(`name must be a C identifier, got ${JSON.stringify(name)}`);
  }
  const packed = opts.packed ?? false;
  if (typeof packed !== "boolean") bad(`packed must be a boolean, got ${typeName(packed)}`);
  const align = opts.align;
  if (
    align !== undefined &&
    (typeof align !== "number" || !Number.isInteger(align) || align < 1 || align > 1 << 28 || (align & (align - 1)) !== 0)
  ) {
    bad(`align must be a power of two, got ${String(align)}`);
  }
  const members: Member[] = [];
  for (const key of Object.keys(fields as object)) {
    if (!IDENT.test(key)) bad(`member name ${JSON.stringify(key)} is not a C identifier`);
    if (key === "__proto__") bad(`member name "__proto__" cannot be used (it would not survive decoding)`);
    const layout = (fields as Record<string, unknown>)[key];
    const codec: Codec = codecOf(layout, `${where}: member "${key}"`);
    members.push({ name: key, offset: 0, codec, layout: layout as AnyLayout });
  }
  return { members, name, packed, align };
}

/** Internal: a lazily built view constructor for a struct/union codec. */
export function lazyRecordView(
  owner: () => Codec,
  members: readonly MemberSpec[],
): (dv: DataView, at: number) => object {
  let cls: (new (dv: DataView, at: number) => object) | undefined;
  return (dv, at) => new (cls ??= recordViewClass(owner(), members))(dv, at);
}

/** Internal: rounds `n` up to a multiple of `a` (a power of two). */
export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
