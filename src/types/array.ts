// array(elem, n): a fixed C array of n elements of any layout (`u32 v[4]`, arrays of structs, arrays of arrays).
// Decodes to a JS array; encode takes exactly n elements (`from` accepts fewer and zero-fills the rest).

import { zeroFill } from "./buffer.js";
import { checkLength } from "./bytes.js";
import { fault, FieldFault, LayoutError, LayoutErrorCode, typeName } from "./errors.js";
import {
  codecOf,
  makeLayout,
  type AnyLayout,
  type ArrayView,
  type Codec,
  type Infer,
  type Input,
  type Layout,
} from "./layout.js";
import { arrayViewFactory, isArrayView } from "./views.js";

/** A fixed-length array layout of `E`. */
export interface ArrayLayout<E extends AnyLayout> extends Layout<Infer<E>[], readonly Input<E>[], ArrayView<E>> {
  readonly kind: "array";
  /** Element layout. */
  readonly element: E;
  /** Number of elements. */
  readonly length: number;
}

/** A fixed array of `n` elements of `element` (C `T name[n]`); stride is `element.size`. */
export function array<E extends AnyLayout>(element: E, n: number): ArrayLayout<E> {
  const ec = codecOf(element, "array(element, n)");
  if (element.kind === "padding") {
    throw new LayoutError(LayoutErrorCode.Definition, "array(element, n): element cannot be padding; use padding(n)");
  }
  const length = checkLength("array(element, n)", n, 0);
  const stride = element.size;
  const label = arrayLabel(ec.label, length);
  const read = (dv: DataView, at: number): unknown[] => {
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = ec.read(dv, at + i * stride);
    return out;
  };
  const write = (dv: DataView, at: number, v: unknown, partial: boolean): void => {
    if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      if (isArrayView(v)) v = v.toArray();
      else fault(LayoutErrorCode.Type, `expected an array for ${label}, got ${typeName(v)}`);
    }
    const items = v as ArrayLike<unknown>;
    const count = items.length;
    if (count !== length && !(partial && count < length)) {
      fault(LayoutErrorCode.Range, `expected exactly ${length} elements for ${label}, got ${count}`);
    }
    let i = 0;
    try {
      for (; i < count; i++) {
        const item = items[i];
        if (item === undefined && partial) continue;
        ec.write(dv, at + i * stride, item, partial);
      }
    } catch (e) {
      if (e instanceof FieldFault) e.segments.push(`[${i}]`);
      throw e;
    }
    if (count < length) zeroFill(dv, at + count * stride, (length - count) * stride);
  };
  let makeView: ((dv: DataView, at: number) => object) | undefined;
  const viewAt = (dv: DataView, at: number): object =>
    (makeView ??= arrayViewFactory(codec, ec, length, stride))(dv, at);
  const codec: Codec = {
    size: stride * length,
    label,
    root: "",
    read,
    write,
    zero: () => {
      const out = new Array<unknown>(length);
      for (let i = 0; i < length; i++) out[i] = ec.zero();
      return out;
    },
    reader: (o) => (dv, at) => read(dv, at + o),
    writer: (o) => (dv, at, v, partial) => write(dv, at + o, v, partial),
    access: viewAt,
    viewAt,
  };
  return makeLayout<ArrayLayout<E>>(
    { kind: "array", size: stride * length, align: element.align },
    { element, length },
    codec,
  );
}

/** `u32[4]`, and `u32[2][3]` for arrays of arrays (C order: outer dimension first). */
function arrayLabel(elemLabel: string, n: number): string {
  const bracket = elemLabel.indexOf("[");
  if (bracket < 0 || elemLabel.startsWith("struct") || elemLabel.startsWith("union")) return `${elemLabel}[${n}]`;
  return `${elemLabel.slice(0, bracket)}[${n}]${elemLabel.slice(bracket)}`;
}
