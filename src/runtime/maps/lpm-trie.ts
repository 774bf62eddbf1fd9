// Longest-prefix-match tries (BPF_MAP_TYPE_LPM_TRIE): keys are { prefixLen, data } with data described
// by a layout (bytes(4) for IPv4, bytes(16) for IPv6, or any struct); lookups find the longest match.

import { MapError } from "../../errors.js";
import type { Layout } from "../../types/index.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { checkSize } from "./codecs.js";

/** An LPM trie key: the first `prefixLen` bits of `data` matter. */
export interface LpmKey<D> {
  readonly prefixLen: number;
  readonly data: D;
}

/** Codec of `struct { __u32 prefixlen; data }` (packed: data starts at byte 4, as the kernel wants). */
export function lpmKeyCodec<D, DI>(data: Layout<D, DI, unknown>): Codec<LpmKey<D>, LpmKey<DI>> {
  const bits = data.size * 8;
  return {
    size: 4 + data.size,
    decode: (src, off) => ({ prefixLen: new DataView(src.buffer, src.byteOffset).getUint32(off, true), data: data.decode(src, off + 4) }),
    encode: (k, dst, off) => {
      if (typeof k !== "object" || k === null || !Number.isInteger(k.prefixLen) || k.prefixLen < 0 || k.prefixLen > bits)
        throw new RangeError(`prefixLen must be an integer in 0..${bits}, got ${typeof k === "object" && k ? String(k.prefixLen) : String(k)}`);
      new DataView(dst.buffer, dst.byteOffset).setUint32(off, k.prefixLen, true);
      data.encode(k.data, dst, off + 4);
    },
  };
}

/**
 * Parse an IPv4 or IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32"; no suffix = full length) into an LPM key
 * with the address bytes in network order.
 */
export function parseCidr(cidr: string): LpmKey<Uint8Array> {
  const [addr = "", len] = cidr.split("/");
  let bytes: Uint8Array;
  if (addr.includes(":")) {
    const [head = "", tail] = addr.split("::");
    const parts = (s: string) => (s ? s.split(":") : []);
    const h = parts(head), t = tail === undefined ? [] : parts(tail);
    const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw new MapError("BAD_KEY", "lpm", "parse CIDR", `"${cidr}" is not an IPv6 address`);
    bytes = new Uint8Array(16);
    groups.forEach((g, i) => { const v = parseInt(g, 16); bytes[i * 2] = v >> 8; bytes[i * 2 + 1] = v & 0xff; });
  } else {
    const octets = addr.split(".");
    if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) throw new MapError("BAD_KEY", "lpm", "parse CIDR", `"${cidr}" is not an IPv4 address`);
    bytes = Uint8Array.from(octets.map(Number));
  }
  const prefixLen = len === undefined ? bytes.length * 8 : Number(len);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bytes.length * 8) throw new MapError("BAD_KEY", "lpm", "parse CIDR", `"${cidr}" has an invalid prefix length`);
  return { prefixLen, data: bytes };
}

/**
 * An LPM_TRIE map. `set`/`get`/`delete` use exact { prefixLen, data } keys; `match(data)` finds the
 * longest stored prefix covering `data`.
 *
 * @example
 * const routes = createMap({ type: "lpm_trie", data: bytes(4), value: u32, maxEntries: 128 });
 * routes.set(parseCidr("10.0.0.0/8"), 1);
 * routes.set(parseCidr("10.1.0.0/16"), 2);
 * routes.match(parseCidr("10.1.2.3").data); // 2
 */
export class LpmTrie<D, V, DI = D, VI = V> extends TypedMap<LpmKey<D>, V, LpmKey<DI>, VI> {
  readonly data: Layout<D, DI, unknown>;

  constructor(map: BpfMap, data: Layout<D, DI, unknown>, value: Codec<V, VI>) {
    expectType(map, "LpmTrie", "LPM_TRIE");
    checkSize(map.name, "key", { size: 4 + data.size }, map.keySize);
    super(map, lpmKeyCodec(data), value);
    this.data = data;
  }

  /** The value of the longest prefix that covers `data`, or undefined. */
  match(data: DI): V | undefined {
    return this.get({ prefixLen: this.data.size * 8, data });
  }
}
