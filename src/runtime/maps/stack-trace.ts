// Stack trace maps (BPF_MAP_TYPE_STACK_TRACE): stack id → instruction pointers, filled by
// bpf_get_stackid() in programs; userspace reads frames as bigint[] and deletes ids.

import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { u32Codec } from "./codecs.js";

/** Codec of `depth` u64 frames; decoding stops at the first zero (unused tail). */
function framesCodec(size: number): Codec<bigint[], readonly bigint[]> {
  const depth = size / 8;
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      const out: bigint[] = [];
      for (let i = 0; i < depth; i++) {
        const ip = dv.getBigUint64(off + i * 8, true);
        if (ip === 0n) break;
        out.push(ip);
      }
      return out;
    },
    encode: (frames, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      if (frames.length > depth) throw new RangeError(`${frames.length} frames do not fit in ${depth}`);
      frames.forEach((f, i) => dv.setBigUint64(off + i * 8, BigInt(f), true));
    },
  };
}

/**
 * A STACK_TRACE map: `get(stackId)` gives the frames (instruction pointers, innermost first).
 * (Maps created with BPF_F_STACK_BUILD_ID hold build-id records instead: use the raw BpfMap.)
 *
 * @example
 * const stacks = new StackTraceMap(coll.map("stacks"));
 * const frames = stacks.get(stackId); // bigint[]
 */
export class StackTraceMap extends TypedMap<number, bigint[], number, readonly bigint[]> {
  constructor(map: BpfMap) {
    expectType(map, "StackTraceMap", "STACK_TRACE");
    super(map, u32Codec, framesCodec(map.valueSize));
  }

  /** Maximum frames per stack (value size / 8). */
  get depth(): number {
    return this.map.valueSize / 8;
  }
}
