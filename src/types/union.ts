// union({...}): a C union layout; every member starts at offset 0, size is the largest member rounded up
// to the alignment. Decoding yields every member; encoding takes at least one (written in declaration order).

import { zeroFill } from "./buffer.js";
import { fault, FieldFault, LayoutError, LayoutErrorCode, typeName } from "./errors.js";
import { makeLayout, type Codec, type Infer, type Input, type Layout } from "./layout.js";
import {
  alignUp,
  checkRecord,
  lazyRecordView,
  type FieldMap,
  type FieldTable,
  type RecordView,
  type StructOptions,
} from "./record.js";

/** Decoded value of a union: every member, each decoded from the same bytes. */
export type UnionValue<F extends FieldMap> = { -readonly [K in keyof F]: Infer<F[K]> };

/** What `encode` accepts for a union: at least one member (later members overwrite earlier ones). */
export type UnionInput<F extends FieldMap> = {
  [K in keyof F]: { readonly [P in K]: Input<F[P]> } & { readonly [P in Exclude<keyof F, K>]?: Input<F[P]> };
}[keyof F];

/** A union layout with members `F`. */
export interface UnionLayout<F extends FieldMap> extends Layout<UnionValue<F>, UnionInput<F>, RecordView<F>> {
  readonly kind: "union";
  /** Members in declaration order (all at offset 0). */
  readonly fields: FieldTable<F>;
  /** Declared `packed`. */
  readonly packed: boolean;
  /** The `align` option as given. */
  readonly alignAttribute: number | undefined;
}

/**
 * A C union of the given members. Options as for `struct` (`name`, `packed`, `align`).
 *
 * @example
 * const Addr = union({ v4: bytes(4), v6: bytes(16) });
 * Addr.encode({ v4: [10, 0, 0, 1] }); // 16 bytes, the rest zero
 */
export function union<F extends FieldMap>(fields: F, options?: StructOptions): UnionLayout<F> {
  const { members, name, packed, align: alignOpt } = checkRecord("union", fields, options);
  if (members.length === 0) throw new LayoutError(LayoutErrorCode.Definition, "union({...}): needs at least one member");
  for (const m of members) {
    if (m.layout.kind === "padding") {
      throw new LayoutError(LayoutErrorCode.Definition, `union({...}): member "${m.name}" cannot be padding`);
    }
  }
  let maxSize = 0;
  let maxAlign = 1;
  for (const m of members) {
    maxSize = Math.max(maxSize, m.layout.size);
    if (!packed) maxAlign = Math.max(maxAlign, m.layout.align);
  }
  const align = packed ? (alignOpt ?? 1) : Math.max(maxAlign, alignOpt ?? 1);
  const size = alignUp(maxSize, align);
  const names = members.map((m) => m.name);
  const codecs = members.map((m) => m.codec);
  const n = members.length;
  const label = name !== undefined ? `union ${name}` : "union";

  const read = (dv: DataView, at: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) out[names[i]] = codecs[i].read(dv, at);
    return out;
  };
  const write = (dv: DataView, at: number, v: unknown, partial: boolean): void => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      fault(LayoutErrorCode.Type, `expected an object for ${label}, got ${typeName(v)}`);
    }
    const obj = v as Record<string, unknown>;
    zeroFill(dv, at, size);
    let given = 0;
    let i = 0;
    try {
      for (; i < n; i++) {
        const fv = obj[names[i]];
        if (fv === undefined) continue;
        given++;
        codecs[i].write(dv, at, fv, partial);
      }
    } catch (e) {
      if (e instanceof FieldFault) e.segments.push("." + names[i]);
      throw e;
    }
    if (given === 0 && !partial) {
      fault(LayoutErrorCode.MissingField, `expected one of the members ${names.join(", ")}`);
    }
  };
  const viewAt = lazyRecordView(() => codec, members);
  const codec: Codec = {
    size,
    label,
    root: name ?? "",
    read,
    write,
    zero: () => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[names[i]] = codecs[i].zero();
      return out;
    },
    reader: (o) => (o === 0 ? read : (dv, at) => read(dv, at + o)),
    writer: (o) => (o === 0 ? write : (dv, at, v, partial) => write(dv, at + o, v, partial)),
    access: viewAt,
    viewAt,
  };
  const table: Record<string, { offset: number; layout: unknown }> = {};
  for (const m of members) table[m.name] = Object.freeze({ offset: 0, layout: m.layout });
  return makeLayout<UnionLayout<F>>(
    { kind: "union", size, align },
    {
      fields: Object.freeze(table),
      packed,
      alignAttribute: alignOpt,
      ...(name !== undefined ? { btfName: name } : {}),
    },
    codec,
  );
}
