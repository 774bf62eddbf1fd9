// Arena maps (BPF_MAP_TYPE_ARENA, Linux 6.9+): pages of memory shared by BPF programs and this process,
// mapped once into userspace; values are read and written at byte offsets through layouts, no syscalls.

import { MapError } from "../../errors.js";
import { sys } from "../../sys/seam.js";
import type { Layout } from "../../types/index.js";
import { BpfMap, expectType } from "../map.js";

/**
 * An ARENA map: `maxEntries` pages that programs allocate (bpf_arena_alloc_pages) and address with
 * arena pointers, and that userspace sees through one memory mapping. A program's arena pointer to
 * offset `o` is the user address {@link address} + `o`; pages userspace touches first are allocated
 * (zeroed) by the kernel on fault.
 *
 * The kernel allows one user mapping per arena (at the `address` hint given at creation, if any), so
 * the mapping is made once, by the first access, and shared by every ArenaMap over the same BpfMap.
 *
 * @example
 * const arena = createMap({ type: "arena", maxEntries: 16 });   // 16 pages
 * arena.set(u64, 0, 41n);                                         // a program reads it at arena base + 0
 * arena.get(u64, 8);                                              // what the program wrote at base + 8
 */
export class ArenaMap implements Disposable {
  readonly map: BpfMap;
  #bytes: Uint8Array | undefined;

  constructor(map: BpfMap) {
    expectType(map, "ArenaMap", "ARENA");
    this.map = map;
  }

  get name(): string {
    return this.map.name;
  }

  /** Pages in the arena. */
  get pages(): number {
    return this.map.maxEntries;
  }

  /** The arena's memory (mapped on first use; empty once the map is closed). */
  get buffer(): ArrayBuffer {
    return this.map.mmap();
  }

  /** The whole arena as bytes. */
  get bytes(): Uint8Array {
    const buf = this.map.mmap();
    if (this.#bytes?.buffer !== buf) this.#bytes = new Uint8Array(buf);
    return this.#bytes;
  }

  /** Size in bytes (pages × page size). */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** Where the arena is mapped in this process: the user address programs' arena pointers are relative to. */
  get address(): bigint {
    return this.map.op("arena address", () => sys().addressOf(this.buffer));
  }

  #at(op: string, size: number, offset: number): Uint8Array {
    const bytes = this.bytes;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > bytes.byteLength)
      throw new MapError("BAD_KEY", this.map.name, op, `offset ${String(offset)} (+${size} bytes) is outside the arena's ${bytes.byteLength} bytes`);
    return bytes;
  }

  /** The value of `layout` at byte `offset`. */
  get<T>(layout: Layout<T, never, unknown>, offset: number): T {
    return layout.decode(this.#at("arena read", layout.size, offset), offset);
  }

  /** Write `value` with `layout` at byte `offset`. */
  set<I>(layout: Layout<unknown, I, unknown>, offset: number, value: I): void {
    const bytes = this.#at("arena write", layout.size, offset);
    try {
      layout.encode(value, bytes, offset);
    } catch (e) {
      throw new MapError("BAD_VALUE", this.map.name, "arena write", `cannot encode value: ${(e as Error).message}`, { cause: e });
    }
  }

  /** A live accessor (the layout's view) at byte `offset`: field reads and writes go to the arena. */
  view<V>(layout: Layout<unknown, never, V>, offset: number): V {
    return layout.view(this.#at("arena view", layout.size, offset).buffer, offset);
  }

  /** Close the map (unmaps the arena). */
  close(): void {
    this.map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
