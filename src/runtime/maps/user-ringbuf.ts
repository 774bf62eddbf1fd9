// Producer side of a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF): userspace writes records straight
// into the mmap'd ring and publishes them; BPF programs consume them with bpf_user_ringbuf_drain().

import { MapError } from "../../errors.js";
import { MAP, POLL, PROT } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../../sys/finalize.js";
import { sys, type PollHandle } from "../../sys/seam.js";
import { pageSize } from "../../sys/system.js";
import type { Layout } from "../../types/index.js";
import { BpfMap, expectType } from "../map.js";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;

/** A reserved record: fill `bytes`, then submit() (or discard()). Records are consumed in reservation order. */
export interface UserRingBufSample {
  /** The record's bytes inside the ring (valid until submit/discard). */
  readonly bytes: Uint8Array;
  /** Publish the record to the kernel. */
  submit(): void;
  /** Give the space back without publishing (the kernel skips the record). */
  discard(): void;
}

/**
 * Writes records into a USER_RINGBUF map. One writer per ring: the producer position lives in this
 * process's mapping.
 *
 * @example
 * const urb = new UserRingBufWriter(coll.map("commands"));
 * urb.write(Command, { op: 1, arg: 42n }); // false when the ring is full
 * await urb.writeAsync(Command, { op: 2, arg: 0n }); // waits for the program to drain
 * coll.program("drain").testRun();        // bpf_user_ringbuf_drain() sees both
 */
/** The writability watch of a writer: a poll handle on a duplicate of the map fd (closed in that order). */
interface Watch { poll?: PollHandle; fd?: Fd }

/** Writers with a writeAsync waiting: held here, since the poll callback reaches them only weakly. */
const waiting = new Set<UserRingBufWriter>();

function closeWatch(w: Watch): void {
  w.poll?.close();
  w.poll = undefined;
  w.fd?.close();
  w.fd = undefined;
}

/** What a writer collected unclosed releases (made outside the class: it must not capture the writer). */
function watchCloser(w: Watch): () => void {
  return () => closeWatch(w);
}

/** The poll callback: wakes the writer through a WeakRef (a native callback reference is a GC root). */
function wakeRelay(ref: WeakRef<UserRingBufWriter>): () => void {
  return () => ref.deref()?.wakeFromPoll();
}

export class UserRingBufWriter implements Disposable {
  readonly map: BpfMap;
  /** Data area size in bytes (the map's max_entries). */
  readonly size: number;
  readonly #consumer: ArrayBuffer;
  readonly #producer: ArrayBuffer;
  readonly #consumerPos: BigUint64Array;
  readonly #producerPos: BigUint64Array;
  readonly #data: Uint8Array;
  readonly #words: Uint32Array;
  readonly #mask: bigint;
  readonly #watch: Watch = {};
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(map: BpfMap) {
    expectType(map, "UserRingBufWriter", "USER_RINGBUF");
    this.map = map;
    this.size = map.maxEntries;
    const page = pageSize();
    const s = sys();
    const fd = map.fd.value;
    this.#consumer = map.op("mmap consumer page", () => s.mmap(fd, page, PROT.READ, MAP.SHARED, 0));
    try {
      this.#producer = map.op("mmap producer pages", () => s.mmap(fd, page + 2 * this.size, PROT.READ | PROT.WRITE, MAP.SHARED, page));
    } catch (e) {
      s.munmap(this.#consumer);
      throw e;
    }
    this.#consumerPos = new BigUint64Array(this.#consumer, 0, 1);
    this.#producerPos = new BigUint64Array(this.#producer, 0, 1);
    this.#data = new Uint8Array(this.#producer, page, 2 * this.size);
    this.#words = new Uint32Array(this.#producer, page, (2 * this.size) / 4);
    this.#mask = BigInt(this.size - 1);
    releaseOnCollect(this, { what: `user ring buffer writer (${map.name})`, release: watchCloser(this.#watch) });
  }

  /** Bytes free for new records (headers included). */
  get free(): number {
    return this.size - Number(Atomics.load(this.#producerPos, 0) - Atomics.load(this.#consumerPos, 0));
  }

  /** Bytes a record of `size` takes in the ring (8-byte header, rounded to 8). */
  static footprint(size: number): number {
    return (size + HDR + 7) & ~7;
  }

  /** Reserve room for a record of `size` bytes; undefined when the ring is full right now. */
  reserve(size: number): UserRingBufSample | undefined {
    if (this.#closed) throw new MapError("MAP_CLOSED", this.map.name, "reserve", "the writer was closed");
    if (!Number.isInteger(size) || size <= 0 || size > 0x3fffffff)
      throw new MapError("BAD_VALUE", this.map.name, "reserve", `record size must be a positive integer, got ${size}`);
    const total = UserRingBufWriter.footprint(size);
    if (total > this.size) throw new MapError("E2BIG", this.map.name, "reserve", `a ${size}-byte record does not fit in a ${this.size}-byte ring`);
    const cons = Atomics.load(this.#consumerPos, 0);
    const prod = Atomics.load(this.#producerPos, 0);
    if (this.size - Number(prod - cons) < total) return undefined;
    const off = Number(prod & this.#mask);
    const word = off / 4;
    Atomics.store(this.#words, word, (size | BUSY) >>> 0);
    this.#words[word + 1] = 0;
    Atomics.store(this.#producerPos, 0, prod + BigInt(total));
    const words = this.#words;
    let done = false;
    const finish = (flags: number) => {
      if (done) throw new MapError("BAD_STATE", this.map.name, "submit", "the record was already submitted or discarded");
      done = true;
      Atomics.exchange(words, word, (size | flags) >>> 0);
    };
    return {
      bytes: this.#data.subarray(off + HDR, off + HDR + size),
      submit: () => finish(0),
      discard: () => finish(DISCARD),
    };
  }

  /** Copy `bytes` in as one record and submit it; false when the ring is full. */
  writeBytes(bytes: Uint8Array): boolean {
    const s = this.reserve(bytes.byteLength);
    if (!s) return false;
    s.bytes.set(bytes);
    s.submit();
    return true;
  }

  /** Encode `value` with `layout` straight into the ring and submit it; false when the ring is full. */
  write<T, I>(layout: Layout<T, I, unknown>, value: I): boolean {
    const s = this.reserve(layout.size);
    if (!s) return false;
    try {
      s.bytes.fill(0);
      layout.encode(value, s.bytes, 0);
    } catch (e) {
      s.discard();
      throw new MapError("BAD_VALUE", this.map.name, "write", `cannot encode record: ${(e as Error).message}`, { cause: e });
    }
    s.submit();
    return true;
  }

  /** As {@link write}, waiting (on the event loop, no busy polling) until the kernel has drained enough room. */
  async writeAsync<T, I>(layout: Layout<T, I, unknown>, value: I): Promise<void> {
    while (!this.write(layout, value)) {
      if (this.#closed) throw new MapError("MAP_CLOSED", this.map.name, "write", "the writer was closed");
      await this.#waitWritable(UserRingBufWriter.footprint(layout.size));
    }
  }

  #waitWritable(need: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.free >= need) return resolve();
      this.#wake = resolve;
      waiting.add(this);
      const watch = this.#watch;
      if (!watch.poll) {
        watch.fd = this.map.fd.dup(`user ring buffer writer (${this.map.name})`);
        watch.poll = sys().poll(watch.fd.value, POLL.WRITABLE, wakeRelay(new WeakRef(this)));
      } else {
        watch.poll.start(POLL.WRITABLE);
      }
    });
  }

  /** @internal The poll callback: the ring became writable. */
  wakeFromPoll(): void {
    const w = this.#wake;
    this.#wake = undefined;
    waiting.delete(this);
    this.#watch.poll?.stop();
    w?.();
  }

  /** Release the mappings; pending writeAsync calls fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closedExplicitly(this);
    closeWatch(this.#watch);
    const w = this.#wake;
    this.#wake = undefined;
    waiting.delete(this);
    w?.();
    const s = sys();
    s.munmap(this.#consumer);
    s.munmap(this.#producer);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
