// Bloom filters (BPF_MAP_TYPE_BLOOM_FILTER): keyless set membership with false positives; push adds a
// value, has answers "maybe present" (true) or "certainly absent" (false).

import { MapError } from "../../errors.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType } from "../map.js";
import { checkSize } from "./codecs.js";

/**
 * A BLOOM_FILTER map (created with `hashes`: map_extra, 1..15 hash functions, default 5).
 *
 * @example
 * const seen = createMap({ type: "bloom_filter", value: u64, maxEntries: 10000 });
 * seen.push(7n);
 * seen.has(7n); // true
 * seen.has(8n); // false (almost certainly)
 */
export class BloomFilter<V, VI = V> implements Disposable {
  readonly map: BpfMap;
  readonly value: Codec<V, VI>;

  constructor(map: BpfMap, value: Codec<V, VI>) {
    expectType(map, "BloomFilter", "BLOOM_FILTER");
    checkSize(map.name, "value", value, map.valueSize);
    this.map = map;
    this.value = value;
  }

  get name(): string { return this.map.name; }

  #encode(op: string, value: VI): void {
    const e = this.map.elem();
    e.value.fill(0);
    try {
      this.value.encode(value, e.value, 0);
    } catch (err) {
      throw new MapError("BAD_VALUE", this.map.name, op, `cannot encode value: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Add `value` to the filter. */
  push(value: VI): void {
    this.#encode("push", value);
    this.map.op("push", () => this.map.elem().update(0));
  }

  /** False: `value` was never pushed. True: it probably was. */
  has(value: VI): boolean {
    this.#encode("lookup", value);
    return this.map.op("lookup", () => this.map.elem().lookup());
  }

  close(): void { this.map.close(); }
  [Symbol.dispose](): void { this.close(); }
}
