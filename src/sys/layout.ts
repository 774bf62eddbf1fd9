// Byte layouts of kernel structs (field offsets/sizes named after the C members) and a writer/reader
// over them. The layout tables are checked against the C compiler's offsetof in test/unit/sys-attr.test.ts.

import { TsbpfError } from "../errors.js";

/** How a field is stored: unsigned/signed little-endian integer, char array, or a bit range in a u64/u32 word. */
export type FieldKind = "u" | "s" | "chars" | "bytes" | "bits";

/** One member of a C struct. For `bits`, `bit`/`width` select the bit range of the `size`-byte word at `offset`. */
export interface Field {
  readonly offset: number;
  readonly size: number;
  readonly kind: FieldKind;
  readonly bit?: number;
  readonly width?: number;
}

/** A named view on a C type: `cType` (e.g. `union bpf_attr`), the member prefix (e.g. `link_create.`), and fields. */
export interface Layout<F extends string = string> {
  readonly name: string;
  readonly cType: string;
  readonly cPrefix: string;
  readonly fields: { readonly [K in F]: Field };
  /** Offset just past the last field: the byte count passed to the kernel. */
  readonly size: number;
}

export const u8 = (offset: number): Field => ({ offset, size: 1, kind: "u" });
export const u16 = (offset: number): Field => ({ offset, size: 2, kind: "u" });
export const u32 = (offset: number): Field => ({ offset, size: 4, kind: "u" });
export const s32 = (offset: number): Field => ({ offset, size: 4, kind: "s" });
export const u64 = (offset: number): Field => ({ offset, size: 8, kind: "u" });
export const chars = (offset: number, size: number): Field => ({ offset, size, kind: "chars" });
export const bytes = (offset: number, size: number): Field => ({ offset, size, kind: "bytes" });
export const bits = (offset: number, size: number, bit: number, width = 1): Field => ({
  offset,
  size,
  kind: "bits",
  bit,
  width,
});

/** Declares a layout; `size` defaults to the end of the last field. */
export function layout<F extends string>(
  name: string,
  cType: string,
  cPrefix: string,
  fields: { [K in F]: Field },
  size?: number,
): Layout<F> {
  let end = 0;
  for (const f of Object.values<Field>(fields)) end = Math.max(end, f.offset + f.size);
  return { name, cType, cPrefix, fields, size: size ?? end };
}

function invalid(where: string, message: string): TsbpfError {
  return new TsbpfError("INVALID_ARGUMENT", `${where}: ${message}`);
}

/** Range-checks `value` for an unsigned/signed field of `size` bytes; returns it as a bigint. */
export function checkInt(where: string, value: number | bigint, size: number, signed: boolean): bigint {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) v = BigInt(value);
  else throw invalid(where, `expected an integer, got ${String(value)}`);
  const bitsN = BigInt(size * 8);
  const min = signed ? -(1n << (bitsN - 1n)) : 0n;
  const max = signed ? (1n << (bitsN - 1n)) - 1n : (1n << bitsN) - 1n;
  if (v < min || v > max) throw invalid(where, `${v} does not fit in ${signed ? "s" : "u"}${size * 8}`);
  return v;
}

/** Writes fields of one layout into a zeroed byte buffer. */
export class StructWriter<F extends string> {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(
    readonly layout: Layout<F>,
    size: number = layout.size,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  private where(name: F): string {
    return `${this.layout.name}.${name}`;
  }

  /** Stores an integer (or bit range); undefined leaves the field zero. */
  set(name: F, value: number | bigint | boolean | undefined): this {
    if (value === undefined) return this;
    const f = this.layout.fields[name];
    if (f.kind === "u") {
      // fast paths for the common cases: small non-negative numbers and in-range bigints
      if (typeof value === "number" && value >= 0 && Number.isInteger(value)) {
        if (f.size === 4 && value <= 0xffffffff) {
          this.view.setUint32(f.offset, value, true);
          return this;
        }
        if (f.size === 8 && value <= Number.MAX_SAFE_INTEGER) {
          this.view.setBigUint64(f.offset, BigInt(value), true);
          return this;
        }
      } else if (typeof value === "bigint" && f.size === 8 && value >= 0n && value <= 0xffffffffffffffffn) {
        this.view.setBigUint64(f.offset, value, true);
        return this;
      }
    }
    const v = typeof value === "boolean" ? (value ? 1n : 0n) : value;
    switch (f.kind) {
      case "u":
      case "s": {
        const x = checkInt(this.where(name), v, f.size, f.kind === "s");
        writeInt(this.view, f.offset, f.size, x);
        return this;
      }
      case "bits": {
        const width = BigInt(f.width ?? 1);
        const x = checkInt(this.where(name), v, 8, false);
        if (x >= 1n << width) throw invalid(this.where(name), `${x} does not fit in ${width} bits`);
        const word = readInt(this.view, f.offset, f.size, false);
        const shift = BigInt(f.bit ?? 0);
        const mask = ((1n << width) - 1n) << shift;
        writeInt(this.view, f.offset, f.size, (word & ~mask) | (x << shift));
        return this;
      }
      default:
        throw invalid(this.where(name), "not an integer field");
    }
  }

  /** Stores a NUL-padded string into a char array; it must leave room for the terminating NUL. */
  string(name: F, value: string | undefined): this {
    if (value === undefined) return this;
    const f = this.layout.fields[name];
    const encoded = new TextEncoder().encode(value);
    if (encoded.length >= f.size) {
      throw invalid(this.where(name), `"${value}" is longer than ${f.size - 1} bytes`);
    }
    this.bytes.set(encoded, f.offset);
    return this;
  }

  /** Copies raw bytes into a byte/char array field. */
  raw(name: F, value: Uint8Array): this {
    const f = this.layout.fields[name];
    if (value.length > f.size) throw invalid(this.where(name), `${value.length} bytes exceed ${f.size}`);
    this.bytes.set(value, f.offset);
    return this;
  }
}

/** Reads fields of one layout from bytes (e.g. an info struct the kernel filled). */
export class StructReader<F extends string> {
  private readonly view: DataView;

  constructor(
    readonly layout: Layout<F>,
    readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when the kernel wrote this field (it lies within the returned length). */
  has(name: F, length: number = this.bytes.length): boolean {
    const f = this.layout.fields[name];
    return f.offset + f.size <= length;
  }

  /** A field as a bigint (any width). */
  big(name: F): bigint {
    const f = this.layout.fields[name];
    if (f.offset + f.size > this.bytes.length) return 0n;
    if (f.kind === "bits") {
      const word = readInt(this.view, f.offset, f.size, false);
      return (word >> BigInt(f.bit ?? 0)) & ((1n << BigInt(f.width ?? 1)) - 1n);
    }
    return readInt(this.view, f.offset, f.size, f.kind === "s");
  }

  /** A field of at most 32 bits (or a 64-bit one known to be small) as a number. */
  num(name: F): number {
    return Number(this.big(name));
  }

  /** A NUL-terminated char array as a string. */
  string(name: F): string {
    const f = this.layout.fields[name];
    const raw = this.bytes.subarray(f.offset, Math.min(f.offset + f.size, this.bytes.length));
    const end = raw.indexOf(0);
    return new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
  }

  /** A byte array field (copied). */
  raw(name: F): Uint8Array {
    const f = this.layout.fields[name];
    return this.bytes.slice(f.offset, f.offset + f.size);
  }
}

function writeInt(view: DataView, offset: number, size: number, value: bigint): void {
  const u = BigInt.asUintN(size * 8, value);
  switch (size) {
    case 1:
      view.setUint8(offset, Number(u));
      return;
    case 2:
      view.setUint16(offset, Number(u), true);
      return;
    case 4:
      view.setUint32(offset, Number(u), true);
      return;
    case 8:
      view.setBigUint64(offset, u, true);
      return;
    default:
      throw new TsbpfError("INVALID_ARGUMENT", `layout: unsupported integer width ${size}`);
  }
}

function readInt(view: DataView, offset: number, size: number, signed: boolean): bigint {
  let u: bigint;
  switch (size) {
    case 1:
      u = BigInt(view.getUint8(offset));
      break;
    case 2:
      u = BigInt(view.getUint16(offset, true));
      break;
    case 4:
      u = BigInt(view.getUint32(offset, true));
      break;
    case 8:
      u = view.getBigUint64(offset, true);
      break;
    default:
      throw new TsbpfError("INVALID_ARGUMENT", `layout: unsupported integer width ${size}`);
  }
  return signed ? BigInt.asIntN(size * 8, u) : u;
}
