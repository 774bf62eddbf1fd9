// Maps of maps (BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS): key → inner map. Updates take a map (or its
// fd); lookups return the inner map's id, and openInner() opens it as a BpfMap.

import { mapTypeFromNumber, mapSpec } from "../../object/maps.js";
import { getFdById, mapInfo } from "../../sys/bpf.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { fdCodec, type FdSource } from "./codecs.js";

/**
 * An ARRAY_OF_MAPS or HASH_OF_MAPS map. Inner maps must match the template the outer map was created
 * with (type, key/value size, max entries unless BPF_F_INNER_MAP).
 *
 * @example
 * const outer = createMap({ type: "array_of_maps", key: u32, maxEntries: 4, inner: { type: "hash", key: u32, value: u64, maxEntries: 16 } });
 * const inner = createMap({ type: "hash", key: u32, value: u64, maxEntries: 16 });
 * outer.set(0, inner);
 * outer.get(0) === inner.map.info().id; // true
 */
export class MapOfMaps<K, KI = K> extends TypedMap<K, number, KI, FdSource | { readonly map: BpfMap }> {
  constructor(map: BpfMap, key: Codec<K, KI>) {
    expectType(map, "MapOfMaps", "ARRAY_OF_MAPS", "HASH_OF_MAPS");
    const fds = fdCodec(4);
    super(map, key, {
      size: 4,
      decode: fds.decode,
      encode: (v, dst, off) => fds.encode(typeof v === "object" && v !== null && "map" in v && v.map instanceof BpfMap ? v.map : (v as FdSource), dst, off),
    });
  }

  /** Open the inner map at `key` (by id; needs CAP_SYS_ADMIN), or undefined when the slot is empty. */
  openInner(key: KI): BpfMap | undefined {
    const id = this.get(key);
    if (id === undefined) return undefined;
    return this.map.op("open inner map", () => {
      const fd = getFdById("map", id);
      try {
        const info = mapInfo(fd);
        const spec = mapSpec({
          name: info.name || `${this.map.name}.inner`, type: mapTypeFromNumber(info.type) ?? "UNSPEC",
          keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags,
        });
        return new BpfMap(fd, spec, undefined);
      } catch (e) {
        fd.close();
        throw e;
      }
    });
  }
}
