// Hash maps (BPF_MAP_TYPE_HASH and LRU_HASH): keys and values described by layouts, every TypedMap
// operation (get/set/delete/has, iteration, batches, lookup-and-delete).

import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";

/**
 * A HASH or LRU_HASH map. An LRU map evicts the least recently used element instead of failing
 * with E2BIG when full.
 *
 * @example
 * const seen = createMap({ type: "hash", key: u32, value: u64, maxEntries: 1024 });
 * seen.set(42, 1n, UpdateFlags.NoExist);
 * seen.get(42); // 1n
 * new HashMap(coll.map("counts"), u32, u64); // a map of a loaded object
 */
export class HashMap<K, V, KI = K, VI = V> extends TypedMap<K, V, KI, VI> {
  constructor(map: BpfMap, key: Codec<K, KI>, value: Codec<V, VI>) {
    expectType(map, "HashMap", "HASH", "LRU_HASH");
    super(map, key, value);
  }
}
