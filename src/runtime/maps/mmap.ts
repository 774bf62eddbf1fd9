// A typed view over an mmap'd BPF array map: element i lives at i × round_up(value size, 8); reads and
// writes are memory accesses (scalars through a DataView fast path, structs through layouts).

import { MapError } from "../../errors.js";
import type { Layout } from "../../types/index.js";

const SCALARS: Record<string, [number, boolean, boolean]> = {
  // kind: [size, signed, bigint]
  u8: [1, false, false], i8: [1, true, false], u16: [2, false, false], i16: [2, true, false],
  u32: [4, false, false], i32: [4, true, false], u64: [8, false, true], i64: [8, true, true],
};

/**
 * Elements of an mmap'd array map. `get`/`set` decode and encode one element; `view(i)` is a live
 * accessor (struct fields read the map's memory on every access); `bytes` is the raw mapping.
 * After the map closes every access fails with MAP_CLOSED.
 *
 * @example
 * const arr = createMap({ type: "array", value: u64, maxEntries: 1024, mmapable: true }).mmap();
 * arr.set(3, 42n);
 * arr.get(3);          // 42n, no syscall
 * arr.typedArray();    // BigUint64Array over the same memory (u64 values only)
 */
export class MmapArray<V, VI = V> {
  readonly name: string;
  readonly buffer: ArrayBuffer;
  readonly layout: Layout<V, VI, unknown>;
  readonly length: number;
  /** Distance between elements in bytes: round_up(value size, 8). */
  readonly stride: number;
  readonly writable: boolean;
  readonly bytes: Uint8Array;
  readonly #dv: DataView;
  readonly #get: (i: number) => V;
  readonly #set: (i: number, v: VI) => void;

  constructor(name: string, buffer: ArrayBuffer, layout: Layout<V, VI, unknown>, length: number, writable: boolean) {
    this.name = name;
    this.buffer = buffer;
    this.layout = layout;
    this.length = length;
    this.stride = Math.ceil(layout.size / 8) * 8;
    this.writable = writable;
    this.bytes = new Uint8Array(buffer);
    this.#dv = new DataView(buffer);
    const dv = this.#dv;
    const stride = this.stride;
    const scalar = SCALARS[layout.kind];
    if (scalar && scalar[0] === 8) {
      this.#get = (scalar[1] ? (i: number) => dv.getBigInt64(i * stride, true) : (i: number) => dv.getBigUint64(i * stride, true)) as (i: number) => V;
    } else if (scalar && scalar[0] === 4) {
      this.#get = (scalar[1] ? (i: number) => dv.getInt32(i * stride, true) : (i: number) => dv.getUint32(i * stride, true)) as (i: number) => V;
    } else {
      const bytes = this.bytes;
      this.#get = (i: number) => layout.decode(bytes, i * stride);
    }
    const bytes = this.bytes;
    this.#set = (i: number, v: VI) => {
      layout.encode(v, bytes, i * stride);
    };
  }

  /** True once the mapping is gone (the map was closed). */
  get detached(): boolean {
    return this.buffer.byteLength === 0;
  }

  #check(op: string, i: number): void {
    if (this.buffer.byteLength === 0) throw new MapError("MAP_CLOSED", this.name, op, "the map was closed, its mapping is gone");
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new MapError("BAD_KEY", this.name, op, `index ${String(i)} is outside 0..${this.length - 1}`);
  }

  /** Element `i`, decoded. */
  get(i: number): V {
    if (i >>> 0 !== i || i >= this.length) this.#check("mmap read", i);
    try {
      return this.#get(i);
    } catch (e) {
      this.#check("mmap read", i);
      throw e;
    }
  }

  /** Write element `i`. */
  set(i: number, value: VI): void {
    this.#check("mmap write", i);
    if (!this.writable) throw new MapError("MAP_READ_ONLY", this.name, "mmap write", "the map is mapped read-only (frozen or read-only for userspace)");
    try {
      this.#set(i, value);
    } catch (e) {
      throw new MapError("BAD_VALUE", this.name, "mmap write", `cannot encode value: ${(e as Error).message}`, { cause: e });
    }
  }

  /** A live accessor for element `i` (the layout's view). */
  view(i: number): unknown {
    this.#check("mmap view", i);
    return this.layout.view(this.buffer, i * this.stride);
  }

  /**
   * The elements as a TypedArray over the mapping, when every element is one scalar that fills its
   * 8-byte slot (u64/i64).
   */
  typedArray(): BigUint64Array | BigInt64Array {
    if (this.layout.kind !== "u64" && this.layout.kind !== "i64")
      throw new MapError("BAD_LAYOUT", this.name, "mmap typed array", `elements are ${this.layout.kind}, a TypedArray view needs u64 or i64 values`);
    return this.layout.kind === "u64" ? new BigUint64Array(this.buffer, 0, this.length) : new BigInt64Array(this.buffer, 0, this.length);
  }

  *[Symbol.iterator](): IterableIterator<V> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}
