// cstring(n): a fixed C char array (`char name[n]`) holding a NUL-terminated UTF-8 string.
// Decodes up to the first NUL; encodes with NUL padding and rejects strings longer than n-1 bytes.

import { zeroFill } from "./buffer.js";
import { checkLength } from "./bytes.js";
import { fault, LayoutErrorCode, show, typeName } from "./errors.js";
import { makeLayout, type Codec, type Layout, type ScalarView } from "./layout.js";
import { ScalarBox } from "./views.js";

/** A fixed-size char array layout decoding to a string. */
export interface CStringLayout extends Layout<string, string, ScalarView<string>> {
  readonly kind: "cstring";
  /** Size of the char array, including room for the terminating NUL. */
  readonly length: number;
}

const utf8Decoder = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/**
 * A `char name[n]` field holding a NUL-terminated string (at most n-1 UTF-8 bytes plus the NUL).
 * Decoding stops at the first NUL (or after n bytes); invalid UTF-8 decodes to U+FFFD.
 */
export function cstring(n: number): CStringLayout {
  const length = checkLength("cstring(n)", n, 1);
  const label = `char[${length}]`;
  const read = (dv: DataView, at: number): string => {
    let s = "";
    for (let i = 0; i < length; i++) {
      const b = dv.getUint8(at + i);
      if (b === 0) return s;
      if (b >= 0x80) return decodeUtf8(dv, at, length);
      s += String.fromCharCode(b);
    }
    return s;
  };
  const write = (dv: DataView, at: number, v: unknown): void => {
    if (typeof v !== "string") fault(LayoutErrorCode.Type, `expected a string for ${label}, got ${typeName(v)} ${show(v)}`);
    const n = v.length;
    let ascii = n < length;
    for (let i = 0; ascii && i < n; i++) {
      const c = v.charCodeAt(i);
      if (c === 0) fault(LayoutErrorCode.Range, `${show(v)} contains a NUL character`);
      if (c >= 0x80) ascii = false;
    }
    if (ascii) {
      for (let i = 0; i < n; i++) dv.setUint8(at + i, v.charCodeAt(i));
      zeroFill(dv, at + n, length - n);
      return;
    }
    const encoded = utf8Encoder.encode(v);
    if (encoded.includes(0)) fault(LayoutErrorCode.Range, `${show(v)} contains a NUL character`);
    if (encoded.length > length - 1) {
      fault(
        LayoutErrorCode.Range,
        `${show(v)} is ${encoded.length} bytes in UTF-8; ${label} holds at most ${length - 1} plus the NUL`,
      );
    }
    new Uint8Array(dv.buffer, at, length).set(encoded);
    zeroFill(dv, at + encoded.length, length - encoded.length);
  };
  const codec: Codec = {
    size: length,
    label,
    root: "",
    read,
    write,
    zero: () => "",
    reader: (o) => (dv, at) => read(dv, at + o),
    writer: (o) => (dv, at, v) => write(dv, at + o, v),
    access: read,
    viewAt: (dv, at) => new ScalarBox(codec, dv, at),
  };
  return makeLayout<CStringLayout>({ kind: "cstring", size: length, align: 1 }, { length }, codec);
}

function decodeUtf8(dv: DataView, at: number, length: number): string {
  const raw = new Uint8Array(dv.buffer, at, length);
  let end = raw.indexOf(0);
  if (end < 0) end = length;
  // slice() copies: TextDecoder refuses views onto SharedArrayBuffer.
  return utf8Decoder.decode(raw.slice(0, end));
}
