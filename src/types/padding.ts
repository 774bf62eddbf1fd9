// padding(n): explicit filler bytes inside a struct (C `u8 _pad[n]`). Always written as zeros,
// never present in decoded values or in the Infer/Input types.

import { zeroFill } from "./buffer.js";
import { checkLength } from "./bytes.js";
import { makeLayout, type Codec, type Layout } from "./layout.js";

/** Explicit padding: `n` zero bytes with alignment 1. Only meaningful as a struct member. */
export interface PaddingLayout extends Layout<undefined, undefined, undefined> {
  readonly kind: "padding";
  /** Number of bytes. */
  readonly length: number;
}

/** `n` bytes of explicit padding in a struct: encoded as zeros, skipped when decoding. */
export function padding(n: number): PaddingLayout {
  const length = checkLength("padding(n)", n, 1);
  const codec: Codec = {
    size: length,
    label: `padding[${length}]`,
    root: "",
    read: () => undefined,
    write: (dv, at) => zeroFill(dv, at, length),
    zero: () => undefined,
    reader: () => () => undefined,
    writer: (o) => (dv, at) => zeroFill(dv, at + o, length),
    access: () => undefined,
    viewAt: () => undefined,
  };
  return makeLayout<PaddingLayout>({ kind: "padding", size: length, align: 1 }, { length }, codec);
}
