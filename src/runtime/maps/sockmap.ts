// Socket maps (SOCKMAP, SOCKHASH, REUSEPORT_SOCKARRAY): updates take a socket fd; lookups from
// userspace return the socket's cookie (when the value size is 8 bytes, as createMap makes them).

import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { fdOf, u32Codec, type FdSource } from "./codecs.js";

function socketCodec(size: number): Codec<bigint, FdSource> {
  return {
    size,
    decode: (src, off) => {
      const dv = new DataView(src.buffer, src.byteOffset);
      return size === 8 ? dv.getBigUint64(off, true) : BigInt(dv.getUint32(off, true));
    },
    encode: (v, dst, off) => {
      const dv = new DataView(dst.buffer, dst.byteOffset);
      if (size === 8) dv.setBigUint64(off, BigInt(fdOf(v)), true);
      else dv.setUint32(off, fdOf(v), true);
    },
  };
}

/**
 * A SOCKMAP or SOCKHASH (keys by layout; u32 index for SOCKMAP) or REUSEPORT_SOCKARRAY. `set(key, fd)`
 * inserts a socket (TCP established/listening, or bound UDP; reuseport arrays need SO_REUSEPORT);
 * `get(key)` returns its socket cookie (bigint).
 *
 * @example
 * const socks = createMap({ type: "sockhash", key: u32, maxEntries: 64 });
 * socks.set(1, socketFd);
 * socks.get(1); // the socket's cookie
 */
export class SockMap<K = number, KI = K> extends TypedMap<K, bigint, KI, FdSource> {
  constructor(map: BpfMap, key?: Codec<K, KI>) {
    expectType(map, "SockMap", "SOCKMAP", "SOCKHASH", "REUSEPORT_SOCKARRAY");
    super(map, key ?? (u32Codec as unknown as Codec<K, KI>), socketCodec(map.valueSize));
  }
}
