// Per-CPU maps (PERCPU_HASH, LRU_PERCPU_HASH, PERCPU_ARRAY): each element holds one value per possible
// CPU; lookups return the list, updates take the list (or setAll for the same value everywhere).

import type { Layout } from "../../types/index.js";
import { possibleCpus } from "../../sys/system.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { checkSize, perCpuCodec, u32Codec } from "./codecs.js";

/** Write the same value for every CPU. */
function setAll<K, V, KI, VI>(m: TypedMap<K, V[], KI, readonly VI[]>, key: KI, value: VI, cpus: number, flags: number): void {
  m.set(key, new Array<VI>(cpus).fill(value), flags);
}

/**
 * A PERCPU_HASH or LRU_PERCPU_HASH map: `get` returns one value per possible CPU.
 *
 * @example
 * const hits = createMap({ type: "percpu_hash", key: u32, value: u64, maxEntries: 64 });
 * hits.setAll(1, 0n);
 * const perCpu = hits.get(1)!;           // bigint[] of length possibleCpus()
 * const total = perCpu.reduce((a, b) => a + b, 0n);
 */
export class PerCpuHashMap<K, V, KI = K, VI = V> extends TypedMap<K, V[], KI, readonly VI[]> {
  /** Number of values per element (possible CPUs). */
  readonly cpus: number;
  readonly element: Layout<V, VI, unknown>;

  constructor(map: BpfMap, key: Codec<K, KI>, value: Layout<V, VI, unknown>) {
    expectType(map, "PerCpuHashMap", "PERCPU_HASH", "LRU_PERCPU_HASH");
    checkSize(map.name, "value", value, map.valueSize);
    super(map, key, perCpuCodec(value));
    this.cpus = possibleCpus();
    this.element = value;
  }

  /** Write `value` for every CPU at `key`. */
  setAll(key: KI, value: VI, flags = 0): void {
    setAll(this, key, value, this.cpus, flags);
  }
}

/**
 * A PERCPU_ARRAY map: index → one value per possible CPU.
 *
 * @example
 * const stats = new PerCpuArrayMap(coll.map("stats"), u64);
 * const [cpu0, cpu1] = stats.get(0)!;
 */
export class PerCpuArrayMap<V, VI = V> extends TypedMap<number, V[], number, readonly VI[]> {
  readonly cpus: number;
  readonly element: Layout<V, VI, unknown>;

  constructor(map: BpfMap, value: Layout<V, VI, unknown>) {
    expectType(map, "PerCpuArrayMap", "PERCPU_ARRAY");
    checkSize(map.name, "value", value, map.valueSize);
    super(map, u32Codec, perCpuCodec(value));
    this.cpus = possibleCpus();
    this.element = value;
  }

  /** Number of slots. */
  get length(): number {
    return this.map.maxEntries;
  }

  /** Write `value` for every CPU at `index`. */
  setAll(index: number, value: VI, flags = 0): void {
    setAll(this, index, value, this.cpus, flags);
  }
}
