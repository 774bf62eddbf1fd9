// The Layout contract shared by every tsbpf/types layout, its type-level mappings (Infer, Input, View),
// and the glue that turns a kind's internal codec into the public decode/encode/zero/from/view methods.

import { describe } from "./describe.js";
import { FieldFault, LayoutError, LayoutErrorCode } from "./errors.js";

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Scalar layout kinds (BPF has no floating point, so there are no float kinds). */
export type ScalarKind = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bool";

/** Every layout kind. */
export type LayoutKind = ScalarKind | "bytes" | "cstring" | "array" | "struct" | "union" | "padding";

/** Where `decode` reads from. */
export type DecodeSource = DataView | Uint8Array;

/** Where `view` looks into: an ArrayBuffer (e.g. an mmap'd map) or any view onto one. */
export type ViewSource = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/**
 * A fixed-size, C-compatible memory layout of values of type `T`.
 * `I` is what `encode` accepts (wider than `T` for u64/i64 and bytes), `V` what `view` returns.
 */
export interface Layout<T, I = T, V = unknown> {
  /** Which kind of layout this is. */
  readonly kind: LayoutKind;
  /** Size in bytes (`sizeof`), including trailing padding. */
  readonly size: number;
  /** Alignment in bytes (`_Alignof`). */
  readonly align: number;
  /** C/BTF type name (structs and unions given `{ name }`); carried for the compiler's BTF writer. */
  readonly btfName?: string;
  /** Reads a value at `offset` (relative to the start of `source`); throws LayoutError if too short. */
  decode(source: DecodeSource, offset?: number): T;
  /**
   * Writes `value` at `offset` in `target` (a new zeroed buffer of `offset + size` bytes if omitted) and returns
   * the target. Every field must be present; padding bytes are written as zeros.
   */
  encode(value: I, target?: Uint8Array, offset?: number): Uint8Array;
  /** The all-zero value of this layout (0, 0n, false, "", zeroed arrays, nested zeros). */
  zero(): T;
  /** Completes a partial value with zeros (validating what is given) and returns it in decoded form. */
  from(partial?: DeepPartial<I>): T;
  /** A zero-copy accessor onto `size` bytes at `offset`: reads and writes go straight to the buffer. */
  view(buffer: ViewSource, offset?: number): V;
}

/** Any layout. Used as a constraint; concrete layouts keep their precise types. */
export type AnyLayout = Layout<unknown, never, unknown>;

/** The decoded JavaScript type of a layout: `Infer<typeof u32>` is `number`. */
export type Infer<L extends AnyLayout> = ReturnType<L["decode"]>;

/** What a layout's `encode` accepts: `Input<typeof u64>` is `bigint | number`. */
export type Input<L extends AnyLayout> = Parameters<L["encode"]>[0];

/** What a layout's `view` returns. */
export type View<L extends AnyLayout> = ReturnType<L["view"]>;

/** Recursively optional input, as accepted by `from`. Arrays may be shorter than their layout. */
export type DeepPartial<T> = T extends Uint8Array | string | number | bigint | boolean | undefined | null
  ? T
  : T extends readonly (infer E)[]
    ? readonly DeepPartial<E>[]
    : { readonly [K in keyof T]?: DeepPartial<T[K]> };

/** A boxed accessor for a scalar or string in a buffer (what `view` returns for scalars and cstrings). */
export interface ScalarView<T> {
  value: T;
}

/**
 * How a field of layout `L` appears on a struct/union/array view: scalars and strings as plain values
 * (getter/setter on the buffer), bytes as a live Uint8Array, aggregates as nested views.
 */
export type FieldView<L extends AnyLayout> = L extends { readonly kind: "struct" | "union" | "array" }
  ? View<L>
  : L extends { readonly kind: "bytes" }
    ? Uint8Array
    : Infer<L>;

/** Lazy accessor onto an array in a buffer. Index with `[i]` or `get(i)`/`set(i, v)`. */
export interface ArrayView<E extends AnyLayout> extends Iterable<FieldView<E>> {
  readonly length: number;
  [index: number]: FieldView<E>;
  /** Element `i` (throws LayoutError when out of bounds). */
  get(index: number): FieldView<E>;
  /** Writes element `i`. */
  set(index: number, value: Input<E>): void;
  /** A decoded copy of the whole array. */
  toArray(): Infer<E>[];
}

/** Internal: the per-kind implementation behind a layout. */
export interface Codec {
  /** Reads the value at absolute offset `at` of the whole-buffer view `dv`. */
  read(dv: DataView, at: number): unknown;
  /** Writes `value` (throws FieldFault). `partial`: missing struct fields and short arrays are allowed. */
  write(dv: DataView, at: number, value: unknown, partial: boolean): void;
  /** A fresh zero value. */
  zero(): unknown;
  /** A reader specialised for a field at constant offset `offset` inside a parent at `at`. */
  reader(offset: number): (dv: DataView, at: number) => unknown;
  /** A writer specialised for a field at constant offset `offset` inside a parent at `at`. */
  writer(offset: number): (dv: DataView, at: number, value: unknown, partial: boolean) => void;
  /** What a parent view's getter returns for a field of this layout at `at`. */
  access(dv: DataView, at: number): unknown;
  /** What `layout.view` returns at `at`. */
  viewAt(dv: DataView, at: number): unknown;
  /** Size in bytes of the layout. */
  readonly size: number;
  /** Short name for messages: `u32`, `char[16]`, `struct exec_event`. */
  readonly label: string;
  /** Root of field paths in messages (`exec_event`), or "" for unnamed layouts. */
  readonly root: string;
}

/** Internal: where a layout keeps its codec. */
export const CODEC: unique symbol = Symbol("tsbpf.types.codec");

/** Internal: the codec of a layout (throws LayoutError if `layout` is not one of ours). */
export function codecOf(layout: unknown, where: string): Codec {
  const c =
    typeof layout === "object" && layout !== null ? (layout as { [CODEC]?: Codec })[CODEC] : undefined;
  if (c === undefined) {
    throw new LayoutError(LayoutErrorCode.Definition, `${where}: expected a layout (u32, struct({...}), ...)`);
  }
  return c;
}

/** Internal: converts a FieldFault from an encoder into a LayoutError naming the operation and path. */
export function toLayoutError(e: unknown, op: string, codec: Codec, prefix = ""): unknown {
  if (!(e instanceof FieldFault)) return e;
  let rel = prefix;
  for (let i = e.segments.length - 1; i >= 0; i--) rel += e.segments[i];
  const path = codec.root !== "" ? codec.root + rel : rel.startsWith(".") ? rel.slice(1) : rel;
  const where = path === "" ? "" : `${path}: `;
  return new LayoutError(e.code, `${op} ${codec.label}: ${where}${e.detail}`, path);
}

// ---- Source resolution -------------------------------------------------------------------------------
// Typed-array getters (.buffer, .byteOffset, .byteLength) are slow relative to a field read, so the last
// source is remembered by identity: repeated decodes from one ring buffer or map page skip them.

let lastSource: unknown;
let lastView: DataView | undefined;
let lastBase = 0;
let lastLength = 0;
let lastBuffer: ArrayBuffer | SharedArrayBuffer | undefined;

/** A DataView over the whole of `buffer`, reused while the same buffer keeps coming. */
function wholeView(buffer: ArrayBuffer | SharedArrayBuffer): DataView {
  if (buffer !== lastBuffer || lastView === undefined) {
    lastView = new DataView(buffer);
    lastBuffer = buffer;
  }
  return lastView;
}

function refresh(op: string, label: string, source: unknown): void {
  try {
    refreshUnchecked(op, label, source);
  } catch (e) {
    if (e instanceof TypeError) {
      lastSource = undefined;
      throw new LayoutError(LayoutErrorCode.BufferTooShort, `${op} ${label}: unusable buffer (${e.message})`);
    }
    throw e;
  }
}

function refreshUnchecked(op: string, label: string, source: unknown): void {
  if (ArrayBuffer.isView(source)) {
    const view = wholeView(source.buffer);
    lastBase = source.byteOffset;
    lastLength = source.byteLength;
    lastView = view;
  } else if (source instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && source instanceof SharedArrayBuffer)) {
    lastView = wholeView(source);
    lastBase = 0;
    lastLength = source.byteLength;
  } else {
    throw new LayoutError(
      LayoutErrorCode.Type,
      `${op} ${label}: expected a Uint8Array, DataView or ArrayBuffer, got ${source === null ? "null" : typeof source}`,
    );
  }
  lastSource = source;
}

/**
 * A RangeError/TypeError from DataView access means the remembered buffer was detached or shrunk after it
 * was last seen (the identity cache skipped re-reading its length): forget it and report a LayoutError.
 */
function changedBuffer(e: unknown, op: string, codec: Codec): unknown {
  if (!(e instanceof RangeError || e instanceof TypeError)) return e;
  lastSource = undefined;
  lastBuffer = undefined;
  lastView = undefined;
  return new LayoutError(
    LayoutErrorCode.BufferTooShort,
    `${op} ${codec.label}: the buffer was detached or resized while in use (${e.message})`,
  );
}

/**
 * Resolves `source` + `offset` to the absolute offset in `lastView` (a whole-buffer DataView), checking that
 * `size` bytes are available there.
 */
function locate(op: string, label: string, source: unknown, offset: number, size: number): number {
  if (source !== lastSource) refresh(op, label, source);
  if (offset >>> 0 !== offset || offset + size > lastLength) {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new LayoutError(
        LayoutErrorCode.BufferTooShort,
        `${op} ${label}: offset ${String(offset)} is not a non-negative integer`,
      );
    }
    if (offset + size > lastLength) {
      throw new LayoutError(
        LayoutErrorCode.BufferTooShort,
        `${op} ${label}: buffer too short: need ${size} bytes at offset ${offset} (${offset + size} in total), ` +
          `have ${lastLength}`,
      );
    }
  }
  return lastBase + offset;
}

/** Internal: builds the public layout object from common metadata, kind-specific properties and a codec. */
export function makeLayout<L>(meta: { kind: LayoutKind; size: number; align: number }, extra: object, codec: Codec): L {
  const size = meta.size;
  const layout = {
    kind: meta.kind,
    size,
    align: meta.align,
    ...extra,
    decode(source: DecodeSource, offset = 0): unknown {
      const at = locate("decode", codec.label, source, offset, size);
      try {
        return codec.read(lastView!, at);
      } catch (e) {
        throw changedBuffer(e, "decode", codec);
      }
    },
    encode(value: unknown, target?: Uint8Array, offset = 0): Uint8Array {
      let dv: DataView;
      let at: number;
      if (target === undefined) {
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new LayoutError(
            LayoutErrorCode.BufferTooShort,
            `encode ${codec.label}: offset ${String(offset)} is not a non-negative integer`,
          );
        }
        const ab = new ArrayBuffer(offset + size);
        dv = new DataView(ab);
        at = offset;
        target = new Uint8Array(ab);
      } else {
        if (!(target instanceof Uint8Array)) {
          throw new LayoutError(
            LayoutErrorCode.Type,
            `encode ${codec.label}: target must be a Uint8Array, got ${target === null ? "null" : typeof target}`,
          );
        }
        at = locate("encode", codec.label, target, offset, size);
        dv = lastView!;
      }
      try {
        codec.write(dv, at, value, false);
      } catch (e) {
        throw changedBuffer(toLayoutError(e, "encode", codec), "encode", codec);
      }
      return target;
    },
    zero(): unknown {
      return codec.zero();
    },
    from(partial?: unknown): unknown {
      if (partial === undefined) return codec.zero();
      const dv = new DataView(new ArrayBuffer(size));
      try {
        codec.write(dv, 0, partial, true);
      } catch (e) {
        throw toLayoutError(e, "from", codec);
      }
      return codec.read(dv, 0);
    },
    view(buffer: ViewSource, offset = 0): unknown {
      const at = locate("view", codec.label, buffer, offset, size);
      return codec.viewAt(lastView!, at);
    },
    toString(): string {
      return describe(layout as unknown as AnyLayout);
    },
    [INSPECT](): string {
      return `Layout<${describe(layout as unknown as AnyLayout)}>`;
    },
    [CODEC]: codec,
  };
  return Object.freeze(layout) as L;
}
