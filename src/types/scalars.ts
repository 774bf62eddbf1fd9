// Scalar layouts: u8 u16 u32 u64 i8 i16 i32 i64 bool, each usable on its own (e.g. as a map key or value).
// 8/16/32-bit integers map to number, 64-bit to bigint (encode also takes safe-integer numbers), bool to boolean.

import { LITTLE_ENDIAN } from "./buffer.js";
import { fault, LayoutErrorCode, show, typeName } from "./errors.js";
import { makeLayout, type Codec, type Layout, type ScalarKind, type ScalarView } from "./layout.js";
import { ScalarBox } from "./views.js";

/** A scalar layout: an integer of `bits` width (or a one-byte bool) decoding to `T`, encoding from `I`. */
export interface ScalarLayout<K extends ScalarKind, T, I = T> extends Layout<T, I, ScalarView<T>> {
  readonly kind: K;
  /** Width in bits. */
  readonly bits: 8 | 16 | 32 | 64;
  /** Two's-complement signed integer. */
  readonly signed: boolean;
}

type Reader = (dv: DataView, at: number) => unknown;
type Writer = (dv: DataView, at: number, value: unknown) => void;

const TWO32 = 4294967296;
/** Local copy: reading an imported binding in hot code can cost a getter call under some loaders. */
const LE = LITTLE_ENDIAN;

function notNumber(kind: string, v: unknown): never {
  return fault(LayoutErrorCode.Type, `expected a number for ${kind}, got ${typeName(v)} ${show(v)}`);
}

function outOfRange(kind: string, v: number, min: number | bigint, max: number | bigint): never {
  if (!Number.isInteger(v)) return fault(LayoutErrorCode.Range, `${show(v)} is not an integer (${kind})`);
  return fault(LayoutErrorCode.Range, `${show(v)} is out of range for ${kind} (${min}..${max})`);
}

function scalar<K extends ScalarKind, T, I>(
  kind: K,
  size: 1 | 2 | 4 | 8,
  signed: boolean,
  zeroValue: T,
  makeReader: (offset: number) => Reader,
  makeWriter: (offset: number) => Writer,
): ScalarLayout<K, T, I> {
  const read = makeReader(0);
  const write = makeWriter(0);
  const codec: Codec = {
    size,
    label: kind,
    root: "",
    read,
    write,
    zero: () => zeroValue,
    reader: makeReader,
    writer: makeWriter,
    access: read,
    viewAt: (dv, at) => new ScalarBox(codec, dv, at),
  };
  return makeLayout<ScalarLayout<K, T, I>>(
    { kind, size, align: size },
    { bits: (size * 8) as 8 | 16 | 32 | 64, signed },
    codec,
  );
}

/** Unsigned 8-bit integer (`__u8`), decodes to number. */
export const u8: ScalarLayout<"u8", number> = scalar(
  "u8",
  1,
  false,
  0,
  (o) => (dv, at) => dv.getUint8(at + o),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("u8", v);
    if ((v & 0xff) !== v) outOfRange("u8", v, 0, 255);
    dv.setUint8(at + o, v);
  },
);

/** Unsigned 16-bit integer (`__u16`), host byte order, decodes to number. */
export const u16: ScalarLayout<"u16", number> = scalar(
  "u16",
  2,
  false,
  0,
  (o) => (dv, at) => dv.getUint16(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("u16", v);
    if ((v & 0xffff) !== v) outOfRange("u16", v, 0, 65535);
    dv.setUint16(at + o, v, LE);
  },
);

/** Unsigned 32-bit integer (`__u32`), host byte order, decodes to number. */
export const u32: ScalarLayout<"u32", number> = scalar(
  "u32",
  4,
  false,
  0,
  (o) => (dv, at) => dv.getUint32(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("u32", v);
    if (v >>> 0 !== v) outOfRange("u32", v, 0, 4294967295);
    dv.setUint32(at + o, v, LE);
  },
);

/** Signed 8-bit integer (`__s8`), decodes to number. */
export const i8: ScalarLayout<"i8", number> = scalar(
  "i8",
  1,
  true,
  0,
  (o) => (dv, at) => dv.getInt8(at + o),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("i8", v);
    if ((v << 24) >> 24 !== v) outOfRange("i8", v, -128, 127);
    dv.setInt8(at + o, v);
  },
);

/** Signed 16-bit integer (`__s16`), host byte order, decodes to number. */
export const i16: ScalarLayout<"i16", number> = scalar(
  "i16",
  2,
  true,
  0,
  (o) => (dv, at) => dv.getInt16(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("i16", v);
    if ((v << 16) >> 16 !== v) outOfRange("i16", v, -32768, 32767);
    dv.setInt16(at + o, v, LE);
  },
);

/** Signed 32-bit integer (`__s32`), host byte order, decodes to number. */
export const i32: ScalarLayout<"i32", number> = scalar(
  "i32",
  4,
  true,
  0,
  (o) => (dv, at) => dv.getInt32(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v !== "number") notNumber("i32", v);
    if ((v | 0) !== v) outOfRange("i32", v, -2147483648, 2147483647);
    dv.setInt32(at + o, v, LE);
  },
);

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Writes a safe integer as two 32-bit halves (no bigint allocation). */
function setSafe64(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  const lo = v - hi * TWO32;
  if (LE) {
    dv.setUint32(at, lo, true);
    dv.setInt32(at + 4, hi, true);
  } else {
    dv.setInt32(at, hi, false);
    dv.setUint32(at + 4, lo, false);
  }
}

function unsafeNumber(kind: string, v: number): never {
  if (Number.isInteger(v)) {
    return fault(
      LayoutErrorCode.Range,
      `${show(v)} is not a safe integer; pass a bigint for ${kind} values beyond ±2^53-1`,
    );
  }
  return fault(LayoutErrorCode.Range, `${show(v)} is not an integer (${kind})`);
}

/** Unsigned 64-bit integer (`__u64`), host byte order. Decodes to bigint; encodes from bigint or safe-integer number. */
export const u64: ScalarLayout<"u64", bigint, bigint | number> = scalar(
  "u64",
  8,
  false,
  0n,
  (o) => (dv, at) => dv.getBigUint64(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v === "bigint") {
      if (BigInt.asUintN(64, v) !== v) {
        fault(LayoutErrorCode.Range, `${show(v)} is out of range for u64 (0..${U64_MAX})`);
      }
      dv.setBigUint64(at + o, v, LE);
    } else if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) unsafeNumber("u64", v);
      if (v < 0) fault(LayoutErrorCode.Range, `${show(v)} is out of range for u64 (0..${U64_MAX})`);
      setSafe64(dv, at + o, v);
    } else {
      fault(LayoutErrorCode.Type, `expected a bigint or number for u64, got ${typeName(v)} ${show(v)}`);
    }
  },
);

/** Signed 64-bit integer (`__s64`), host byte order. Decodes to bigint; encodes from bigint or safe-integer number. */
export const i64: ScalarLayout<"i64", bigint, bigint | number> = scalar(
  "i64",
  8,
  true,
  0n,
  (o) => (dv, at) => dv.getBigInt64(at + o, LE),
  (o) => (dv, at, v) => {
    if (typeof v === "bigint") {
      if (BigInt.asIntN(64, v) !== v) {
        fault(LayoutErrorCode.Range, `${show(v)} is out of range for i64 (${I64_MIN}..${I64_MAX})`);
      }
      dv.setBigInt64(at + o, v, LE);
    } else if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) unsafeNumber("i64", v);
      setSafe64(dv, at + o, v);
    } else {
      fault(LayoutErrorCode.Type, `expected a bigint or number for i64, got ${typeName(v)} ${show(v)}`);
    }
  },
);

/** C `_Bool`: one byte, decodes any non-zero byte to true, encodes true as 1. */
export const bool: ScalarLayout<"bool", boolean> = scalar(
  "bool",
  1,
  false,
  false,
  (o) => (dv, at) => dv.getUint8(at + o) !== 0,
  (o) => (dv, at, v) => {
    if (typeof v !== "boolean") fault(LayoutErrorCode.Type, `expected a boolean, got ${typeName(v)} ${show(v)}`);
    dv.setUint8(at + o, v ? 1 : 0);
  },
);

