// struct({...}): a C struct layout with members in declaration order, C (x86-64/BPF) alignment rules,
// optional packed/aligned attributes and a BTF name. Decoders are built once per struct from closures.

import { zeroFill } from "./buffer.js";
import { fault, FieldFault, LayoutErrorCode, typeName } from "./errors.js";
import { makeLayout, type Codec, type Layout } from "./layout.js";
import {
  alignUp,
  checkRecord,
  lazyRecordView,
  type FieldMap,
  type FieldTable,
  type RecordView,
  type StructInput,
  type StructOptions,
  type StructValue,
} from "./record.js";

/** A struct layout with members `F`. */
export interface StructLayout<F extends FieldMap> extends Layout<StructValue<F>, StructInput<F>, RecordView<F>> {
  readonly kind: "struct";
  /** Members in declaration order with their offsets (padding members included). */
  readonly fields: FieldTable<F>;
  /** Declared `packed`. */
  readonly packed: boolean;
  /** The `align` option as given (the effective alignment is `align`). */
  readonly alignAttribute: number | undefined;
}

type Read = (dv: DataView, at: number) => unknown;
type Write = (dv: DataView, at: number, v: unknown, partial: boolean) => void;

/**
 * A C struct: members laid out in declaration order, each at the next multiple of its alignment (1 if
 * `packed`); alignment is the largest member alignment (or `align`), size rounded up to the alignment.
 *
 * @example
 * const ExecEvent = struct({ pid: u32, ppid: u32, comm: cstring(16) }, { name: "exec_event" });
 * ExecEvent.size; // 24
 * const ev = ExecEvent.decode(bytes); // { pid: number; ppid: number; comm: string }
 */
export function struct<F extends FieldMap>(fields: F, options?: StructOptions): StructLayout<F> {
  const { members, name, packed, align: alignOpt } = checkRecord("struct", fields, options);
  let offset = 0;
  let maxAlign = 1;
  const placed = members.map((m) => {
    const a = packed ? 1 : m.layout.align;
    offset = alignUp(offset, a);
    const p = { ...m, offset };
    offset += m.layout.size;
    if (a > maxAlign) maxAlign = a;
    return p;
  });
  const align = packed ? (alignOpt ?? 1) : Math.max(maxAlign, alignOpt ?? 1);
  const size = alignUp(offset, align);

  // Holes between members and at the tail, zeroed on every encode so map keys never carry garbage.
  const holes: number[] = [];
  let end = 0;
  for (const p of placed) {
    if (p.offset > end) holes.push(end, p.offset - end);
    end = p.offset + p.layout.size;
  }
  if (size > end) holes.push(end, size - end);

  const data = placed.filter((p) => p.layout.kind !== "padding");
  const pads = placed.filter((p) => p.layout.kind === "padding");
  for (const p of pads) holes.push(p.offset, p.layout.size);
  const names = data.map((p) => p.name);
  const readers: Read[] = data.map((p) => p.codec.reader(p.offset));
  const writers: Write[] = data.map((p) => p.codec.writer(p.offset));
  const n = data.length;

  const read = (dv: DataView, at: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) out[names[i]] = readers[i](dv, at);
    return out;
  };
  const write = (dv: DataView, at: number, v: unknown, partial: boolean): void => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      fault(LayoutErrorCode.Type, `expected an object for ${label}, got ${typeName(v)}`);
    }
    const obj = v as Record<string, unknown>;
    let i = 0;
    try {
      for (; i < n; i++) {
        const fv = obj[names[i]];
        if (fv === undefined) {
          if (partial) continue;
          fault(LayoutErrorCode.MissingField, `missing field (encode needs every field; use from() to zero-fill)`);
        }
        writers[i](dv, at, fv, partial);
      }
    } catch (e) {
      if (e instanceof FieldFault) e.segments.push("." + names[i]);
      throw e;
    }
    for (let h = 0; h < holes.length; h += 2) zeroFill(dv, at + holes[h], holes[h + 1]);
  };
  const label = name !== undefined ? `struct ${name}` : "struct";
  const viewAt = lazyRecordView(() => codec, data);
  const codec: Codec = {
    size,
    label,
    root: name ?? "",
    read,
    write,
    zero: () => {
      const out: Record<string, unknown> = {};
      for (const p of data) out[p.name] = p.codec.zero();
      return out;
    },
    reader: (o) => (o === 0 ? read : (dv, at) => read(dv, at + o)),
    writer: (o) => (o === 0 ? write : (dv, at, v, partial) => write(dv, at + o, v, partial)),
    access: viewAt,
    viewAt,
  };
  const table: Record<string, { offset: number; layout: unknown }> = {};
  for (const p of placed) table[p.name] = Object.freeze({ offset: p.offset, layout: p.layout });
  return makeLayout<StructLayout<F>>(
    { kind: "struct", size, align },
    {
      fields: Object.freeze(table),
      packed,
      alignAttribute: alignOpt,
      ...(name !== undefined ? { btfName: name } : {}),
    },
    codec,
  );
}
