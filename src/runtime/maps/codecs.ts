// Codecs shared by the map kinds: per-CPU value lists, fd-valued slots, little-endian integers, and a
// check that a layout fits the map's key or value size.

import { MapError } from "../../errors.js";
import { Fd, type FdLike } from "../../sys/fd.js";
import { possibleCpus } from "../../sys/system.js";
import type { Layout } from "../../types/index.js";
import type { Codec } from "../map.js";

/** Something that stands for a kernel object's fd: an Fd, a raw number, or an object holding one (Program, BpfMap). */
export type FdSource = FdLike | { readonly fd: Fd };

/** The descriptor number of an FdSource. */
export function fdOf(x: FdSource): number {
  if (typeof x === "number") return x;
  if (x instanceof Fd) return x.value;
  return x.fd.value;
}

/** Codec of one little-endian unsigned 32-bit integer (`kind` lets TypedMap use its DataView fast path). */
export const u32Codec: Codec<number, number> & { readonly kind: "u32" } = {
  kind: "u32",
  size: 4,
  decode: (src, off) => new DataView(src.buffer, src.byteOffset).getUint32(off, true),
  encode: (v, dst, off) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${String(v)} is not a u32`);
    new DataView(dst.buffer, dst.byteOffset).setUint32(off, v, true);
  },
};

/** Codec of a file descriptor stored as a 32-bit integer (update) / an id or value read back (lookup). */
export function fdCodec(size: 4 | 8): Codec<number, FdSource> {
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      return size === 8 ? Number(dv.getBigUint64(off, true)) : dv.getUint32(off, true);
    },
    encode: (v, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      if (size === 8) dv.setBigUint64(off, BigInt(fdOf(v)), true);
      else dv.setUint32(off, fdOf(v), true);
    },
  };
}

/** Codec of every possible CPU's value: decodes to a list, encodes a list with one value per CPU. */
export function perCpuCodec<V, VI>(layout: Layout<V, VI, unknown>, cpus = possibleCpus()): Codec<V[], readonly VI[]> {
  const stride = Math.ceil(layout.size / 8) * 8;
  return {
    size: stride * cpus,
    decode: (src, off) => {
      const out = new Array<V>(cpus);
      for (let c = 0; c < cpus; c++) out[c] = layout.decode(src, off + c * stride);
      return out;
    },
    encode: (values, dst, off) => {
      if (!Array.isArray(values) || values.length !== cpus)
        throw new RangeError(`expected an array of ${cpus} values (one per possible CPU), got ${Array.isArray(values) ? values.length : typeof values}`);
      for (let c = 0; c < cpus; c++) layout.encode(values[c] as VI, dst, off + c * stride);
    },
  };
}

/** Throws BAD_LAYOUT when `codec` does not have `size` bytes. */
export function checkSize(map: string, what: "key" | "value", codec: { readonly size: number }, size: number): void {
  if (codec.size !== size)
    throw new MapError("BAD_LAYOUT", map, "typed access", `${what} layout is ${codec.size} bytes, the map's ${what}s are ${size}`);
}
