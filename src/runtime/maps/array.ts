// Array maps (BPF_MAP_TYPE_ARRAY): u32 index → value; with BPF_F_MMAPABLE also a typed view over the
// mmap'd elements that reads and writes without system calls.

import { MapError } from "../../errors.js";
import type { Layout } from "../../types/index.js";
import { BpfMap, expectType, TypedMap } from "../map.js";
import { checkSize, u32Codec } from "./codecs.js";
import { MmapArray } from "./mmap.js";

/**
 * An ARRAY map: every index below maxEntries exists (zero-filled); elements cannot be deleted.
 *
 * @example
 * const cfg = createMap({ type: "array", value: Config, maxEntries: 4, mmapable: true });
 * cfg.set(0, { verbose: 1, limit: 100 });
 * const live = cfg.mmap();               // no syscalls from here on
 * live.get(0).limit;                     // 100
 */
export class ArrayMap<V, VI = V> extends TypedMap<number, V, number, VI> {
  readonly layout: Layout<V, VI, unknown>;
  #mmap: MmapArray<V, VI> | undefined;

  constructor(map: BpfMap, value: Layout<V, VI, unknown>) {
    expectType(map, "ArrayMap", "ARRAY");
    checkSize(map.name, "value", value, map.valueSize);
    super(map, u32Codec, value);
    this.layout = value;
  }

  /** Number of slots. */
  get length(): number {
    return this.map.maxEntries;
  }

  /** Whether the map was created with BPF_F_MMAPABLE. */
  get mmapable(): boolean {
    return (this.map.flags & 0x400) !== 0;
  }

  /**
   * The elements through the map's memory mapping (needs BPF_F_MMAPABLE): reads and writes are plain
   * memory accesses, visible to BPF programs at once. Read-only when the map is frozen.
   */
  mmap(): MmapArray<V, VI> {
    if (this.#mmap && !this.#mmap.detached) return this.#mmap;
    if (!this.mmapable)
      throw new MapError("MAP_NOT_MMAPABLE", this.map.name, "mmap", "the map was not created with BPF_F_MMAPABLE (createMap({ ..., mmapable: true }))");
    this.#mmap = new MmapArray(this.map.name, this.map.mmap(), this.layout, this.map.maxEntries, this.map.mmapWritable);
    return this.#mmap;
  }
}
