// Consumer of a BPF ring buffer map: the ring is mmap'd (zero copy), readiness comes from the libuv
// loop (no busy polling, no threads), and the consumer position is committed once per batch.

import { TsbpfError } from "../errors.js";
import { MAP, PROT, POLL } from "../sys/constants.js";
import { sys, type PollHandle } from "../sys/seam.js";
import { pageSize } from "../sys/system.js";
import type { Layout } from "../types/index.js";
import type { BpfMap } from "./map.js";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;

/**
 * Reads records from a BPF_MAP_TYPE_RINGBUF map.
 *
 * @example
 * const reader = new RingBufReader(coll.map("events"));
 * for await (const rec of reader.records(ExecEvent)) console.log(rec.pid);
 */
export class RingBufReader implements Disposable {
  readonly map: BpfMap;
  readonly #consumer: ArrayBuffer;
  readonly #producer: ArrayBuffer;
  readonly #consumerPos: BigUint64Array;
  readonly #producerPos: BigUint64Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #mask: bigint;
  #poll: PollHandle | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(map: BpfMap) {
    if (map.type !== "RINGBUF") throw new TsbpfError("BAD_MAP_TYPE", `map "${map.name}" is a ${map.type} map, not RINGBUF`);
    this.map = map;
    const page = pageSize();
    const size = map.maxEntries;
    const s = sys();
    this.#consumer = s.mmap(map.fd.value, page, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
    try {
      this.#producer = s.mmap(map.fd.value, page + 2 * size, PROT.READ, MAP.SHARED, page);
    } catch (e) {
      s.munmap(this.#consumer);
      throw e;
    }
    this.#consumerPos = new BigUint64Array(this.#consumer, 0, 1);
    this.#producerPos = new BigUint64Array(this.#producer, 0, 1);
    this.#data = new Uint8Array(this.#producer, page, 2 * size);
    this.#view = new DataView(this.#producer, page, 2 * size);
    this.#mask = BigInt(size - 1);
  }

  /** Bytes waiting to be read. */
  get pending(): number {
    return Number(Atomics.load(this.#producerPos, 0) - Atomics.load(this.#consumerPos, 0));
  }

  /**
   * Hand every committed record to `fn` (a view valid only during the call) and advance the consumer
   * position once at the end. Returns the number of records read.
   */
  drain(fn: (record: Uint8Array) => void, limit = Infinity): number {
    if (this.#closed) return 0;
    let cons = Atomics.load(this.#consumerPos, 0);
    const prod = Atomics.load(this.#producerPos, 0);
    let n = 0;
    try {
      while (cons < prod && n < limit) {
        const off = Number(cons & this.#mask);
        const len = this.#view.getUint32(off, true);
        if (len & BUSY) break;
        const size = len & ~(BUSY | DISCARD);
        if (!(len & DISCARD)) {
          fn(this.#data.subarray(off + HDR, off + HDR + size));
          n++;
        }
        cons += BigInt((size + HDR + 7) & ~7);
      }
    } finally {
      Atomics.store(this.#consumerPos, 0, cons);
    }
    return n;
  }

  #waitReadable(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      if (!this.#poll) {
        this.#poll = sys().poll(this.map.fd.value, POLL.READABLE, () => {
          const w = this.#wake;
          this.#wake = undefined;
          w?.();
        });
      }
      this.#poll.ref?.();
    });
  }

  /**
   * Drain in batches, converting each record while its bytes are still in the ring, and wait on the
   * loop when the ring is empty. Ends when the reader is closed.
   */
  async *#iterate<T>(convert: (record: Uint8Array) => T): AsyncIterableIterator<T> {
    const batch: T[] = [];
    while (!this.#closed) {
      this.drain((r) => batch.push(convert(r)));
      if (batch.length === 0) {
        await this.#waitReadable();
        this.#poll?.unref?.();
        continue;
      }
      for (const r of batch.splice(0)) yield r;
    }
  }

  /** Async iterator over raw records (copied, so they stay valid). Ends when the reader is closed. */
  raw(): AsyncIterableIterator<Uint8Array> {
    return this.#iterate((r) => r.slice());
  }

  /**
   * Async iterator over records decoded with a layout. (Only `decode` is used, so the element type is
   * the layout's decoded type, not its looser encode input.)
   */
  records<T>(layout: Layout<T, never, unknown>): AsyncIterableIterator<T> {
    return this.#iterate((r) => {
      if (r.byteLength < layout.size) throw new TsbpfError("SHORT_RECORD", `ring buffer "${this.map.name}": record of ${r.byteLength} bytes is shorter than the layout (${layout.size} bytes)`);
      return layout.decode(r, 0);
    });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.raw();
  }

  /** Stop reading: pending iterations end, the mappings are released. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poll?.close();
    this.#poll = undefined;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    const s = sys();
    s.munmap(this.#consumer);
    s.munmap(this.#producer);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
