// Queues and stacks (BPF_MAP_TYPE_QUEUE / STACK): keyless maps with push, pop (lookup-and-delete) and
// peek; a queue pops in FIFO order, a stack in LIFO order.

import { MapError } from "../../errors.js";
import type { Codec } from "../map.js";
import { BpfMap, expectType, UpdateFlags } from "../map.js";
import { checkSize } from "./codecs.js";

/**
 * A QUEUE or STACK map.
 *
 * @example
 * const q = createMap({ type: "queue", value: u32, maxEntries: 8 });
 * q.push(1); q.push(2);
 * q.pop(); // 1 (a stack would give 2)
 */
export class QueueMap<V, VI = V> implements Disposable {
  readonly map: BpfMap;
  readonly value: Codec<V, VI>;

  constructor(map: BpfMap, value: Codec<V, VI>) {
    expectType(map, "QueueMap", "QUEUE", "STACK");
    checkSize(map.name, "value", value, map.valueSize);
    this.map = map;
    this.value = value;
  }

  get name(): string { return this.map.name; }

  /**
   * Add a value. When full it fails with E2BIG, unless `overwrite` is set: then the oldest element
   * (queue) or the bottom element (stack) makes room.
   */
  push(value: VI, opts: { overwrite?: boolean } = {}): void {
    const e = this.map.elem();
    e.value.fill(0);
    try {
      this.value.encode(value, e.value, 0);
    } catch (err) {
      throw new MapError("BAD_VALUE", this.map.name, "push", `cannot encode value: ${(err as Error).message}`, { cause: err });
    }
    this.map.op("push", () => e.update(opts.overwrite ? UpdateFlags.Exist : UpdateFlags.Any));
  }

  /** Remove and return the next value, or undefined when empty. */
  pop(): V | undefined {
    const e = this.map.elem();
    return this.map.op("pop", () => (e.lookupAndDelete() ? this.value.decode(e.value, 0) : undefined));
  }

  /** The next value without removing it, or undefined when empty. */
  peek(): V | undefined {
    const e = this.map.elem();
    return this.map.op("peek", () => (e.lookup() ? this.value.decode(e.value, 0) : undefined));
  }

  /** Pop until empty. */
  *drain(): IterableIterator<V> {
    for (;;) {
      const v = this.pop();
      if (v === undefined) return;
      yield v;
    }
  }

  close(): void { this.map.close(); }
  [Symbol.dispose](): void { this.close(); }
}
