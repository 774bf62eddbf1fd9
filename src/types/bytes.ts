// bytes(n): a fixed array of n raw bytes (C `u8 name[n]`), decoding to a Uint8Array copy.
// Encodes from a Uint8Array or an array of numbers of exactly n bytes (`from` accepts shorter, zero-filled).

import { zeroFill } from "./buffer.js";
import { fault, FieldFault, LayoutError, LayoutErrorCode, show, typeName } from "./errors.js";
import { makeLayout, type Codec, type Layout } from "./layout.js";

/** A fixed-length byte array layout. */
export interface BytesLayout extends Layout<Uint8Array, Uint8Array | readonly number[], Uint8Array> {
  readonly kind: "bytes";
  /** Number of bytes. */
  readonly length: number;
}

/** Internal: validates a length argument of a layout constructor. */
export function checkLength(what: string, n: unknown, min: number): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > 0x7fffffff) {
    throw new LayoutError(
      LayoutErrorCode.Definition,
      `${what}: length must be an integer >= ${min}, got ${typeof n === "number" ? n : typeName(n)}`,
    );
  }
  return n;
}

/**
 * A fixed array of `n` bytes (C `u8 name[n]`). Decodes to a fresh Uint8Array; a view returns a live
 * Uint8Array onto the buffer.
 */
export function bytes(n: number): BytesLayout {
  const length = checkLength("bytes(n)", n, 0);
  const read = (dv: DataView, at: number): Uint8Array => {
    if (length <= 32) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = dv.getUint8(at + i);
      return out;
    }
    return new Uint8Array(dv.buffer, at, length).slice();
  };
  const write = (dv: DataView, at: number, v: unknown, partial: boolean): void => {
    if (v instanceof Uint8Array) {
      if (v.length !== length && !(partial && v.length < length)) tooLong(v.length);
      new Uint8Array(dv.buffer, at, length).set(v);
      if (v.length < length) zeroFill(dv, at + v.length, length - v.length);
    } else if (Array.isArray(v)) {
      if (v.length !== length && !(partial && v.length < length)) tooLong(v.length);
      let i = 0;
      try {
        for (; i < v.length; i++) {
          const b: unknown = v[i];
          if (typeof b !== "number") fault(LayoutErrorCode.Type, `expected a number for u8, got ${typeName(b)} ${show(b)}`);
          if ((b & 0xff) !== b) fault(LayoutErrorCode.Range, `${show(b)} is out of range for u8 (0..255)`);
          dv.setUint8(at + i, b);
        }
      } catch (e) {
        if (e instanceof FieldFault) e.segments.push(`[${i}]`);
        throw e;
      }
      if (v.length < length) zeroFill(dv, at + v.length, length - v.length);
    } else {
      fault(LayoutErrorCode.Type, `expected a Uint8Array or number[] for u8[${length}], got ${typeName(v)}`);
    }
  };
  const tooLong = (got: number): never =>
    fault(LayoutErrorCode.Range, `expected exactly ${length} bytes for u8[${length}], got ${got}`);
  const live = (dv: DataView, at: number): Uint8Array => new Uint8Array(dv.buffer, at, length);
  const codec: Codec = {
    size: length,
    label: `u8[${length}]`,
    root: "",
    read,
    write,
    zero: () => new Uint8Array(length),
    reader: (o) => (dv, at) => read(dv, at + o),
    writer: (o) => (dv, at, v, partial) => write(dv, at + o, v, partial),
    access: live,
    viewAt: live,
  };
  return makeLayout<BytesLayout>({ kind: "bytes", size: length, align: 1 }, { length }, codec);
}
