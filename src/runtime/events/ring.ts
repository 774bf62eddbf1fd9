// One BPF ring buffer (BPF_MAP_TYPE_RINGBUF) mapped into this process: reads records in place from the
// double-mapped data area and commits the consumer position once per batch. Used by RingBufReader.

import { TsbpfError } from "../../errors.js";
import { MAP, PROT, RINGBUF } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { sys } from "../../sys/seam.js";
import { pageSize } from "../../sys/system.js";
import type { BpfMap } from "../map.js";

const BUSY = RINGBUF.BUSY_BIT;
const DISCARD = RINGBUF.DISCARD_BIT;
const LEN_MASK = ~(BUSY | DISCARD);
const HDR = RINGBUF.HDR_SZ;

/** Visits one record in place: `bytes[offset .. offset+size)` is valid only during the call. */
export type RecordVisitor = (bytes: Uint8Array, offset: number, size: number) => void;

/** Counters of one ring (or a reader's rings together). */
export interface RingStats {
  /** Records delivered to the consumer. */
  records: number;
  /** Payload bytes delivered. */
  bytes: number;
  /** Records the BPF program reserved and then discarded (skipped, as the kernel asks). */
  discarded: number;
  /** Times the consumer position was committed (one per batch). */
  commits: number;
}

/**
 * A ring buffer map mapped into memory. Owns a duplicate of the map fd, so closing the map (or its
 * Collection) never pulls the mapping or the poll handle from under a reader; {@link close} releases both.
 */
export class Ring {
  readonly map: BpfMap;
  readonly name: string;
  readonly size: number;
  /** The ring's own fd (a dup of the map fd), watched by the reader's poll handle. */
  readonly fd: Fd;
  /** Records go to this handler instead of the reader's consumer (libbpf ring_buffer__add's sample_cb). */
  readonly handler: ((record: Uint8Array) => void) | undefined;
  readonly stats: RingStats = { records: 0, bytes: 0, discarded: 0, commits: 0 };
  readonly #consumer: ArrayBuffer;
  readonly #producer: ArrayBuffer;
  readonly #consPos: BigUint64Array;
  readonly #prodPos: BigUint64Array;
  /** The data area (twice `size` bytes: the kernel maps it twice so no record wraps). */
  readonly data: Uint8Array;
  readonly #hdr: Int32Array;
  readonly #mask: number;
  /** Consumer position as far as records were handed out (committed at the end of a batch). */
  #cons: number;
  /** Producer position seen at the start of the current batch. */
  #batchEnd: number;
  #committed: number;
  #closed = false;

  constructor(map: BpfMap, handler?: (record: Uint8Array) => void) {
    if (map.type !== "RINGBUF") {
      throw new TsbpfError("BAD_MAP_TYPE", `ring buffer reader: map "${map.name}" is a ${map.type} map, not RINGBUF`);
    }
    this.map = map;
    this.name = map.name;
    this.handler = handler;
    const size = map.maxEntries;
    const page = pageSize();
    if (size <= 0 || (size & (size - 1)) !== 0 || size % page !== 0) {
      throw new TsbpfError("BAD_MAP", `ring buffer reader: map "${map.name}" has size ${size}, not a power-of-2 multiple of the page size`);
    }
    this.size = size;
    this.fd = map.fd.dup(`ring buffer "${map.name}"`);
    const s = sys();
    try {
      this.#consumer = s.mmap(this.fd.value, page, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
      try {
        this.#producer = s.mmap(this.fd.value, page + 2 * size, PROT.READ, MAP.SHARED, page);
      } catch (e) {
        s.munmap(this.#consumer);
        throw e;
      }
    } catch (e) {
      this.fd.close();
      throw new TsbpfError("MMAP_FAILED", `ring buffer reader: mmap of map "${map.name}" failed: ${(e as Error).message}`, { cause: e });
    }
    this.#consPos = new BigUint64Array(this.#consumer, 0, 1);
    this.#prodPos = new BigUint64Array(this.#producer, 0, 1);
    this.data = new Uint8Array(this.#producer, page, 2 * size);
    this.#hdr = new Int32Array(this.#producer, page, (2 * size) / 4);
    this.#mask = size - 1;
    this.#cons = Number(Atomics.load(this.#consPos, 0));
    this.#committed = this.#cons;
    this.#batchEnd = this.#cons;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes between the consumer and producer positions (committed records, busy ones and their headers). */
  get pending(): number {
    if (this.#closed) return 0;
    return Number(Atomics.load(this.#prodPos, 0)) - this.#committed;
  }

  /** Publish the consumer position (once per batch): the kernel may reuse the space from here on. */
  commit(): void {
    if (this.#cons !== this.#committed && !this.#closed) {
      // A sequentially consistent store (a full barrier): the producer's wake-up decision reads it
      // after its own full barrier, so a record committed while we go to sleep always wakes us.
      Atomics.store(this.#consPos, 0, BigInt(this.#cons));
      this.#committed = this.#cons;
      this.stats.commits++;
    }
  }

  /**
   * Visit up to `limit` records of the current batch in place (a batch is everything the producer had
   * committed when it started), then commit. Returns the number visited. When `visit` throws, the
   * record counts as delivered (a record that always fails cannot wedge the ring) and the error propagates.
   * `visit` may close the ring (the reader): consumption stops there, with that record consumed.
   */
  consume(visit: RecordVisitor, limit = Infinity): number {
    if (this.#closed) return 0;
    const hdr = this.#hdr;
    const data = this.data;
    const mask = this.#mask;
    let cons = this.#cons;
    const prod = Number(Atomics.load(this.#prodPos, 0));
    let off = cons & mask;
    let n = 0;
    let bytes = 0;
    try {
      while (cons < prod && n < limit) {
        const len = Atomics.load(hdr, off >> 2);
        if (len & BUSY) break;
        const size = len & LEN_MASK;
        const step = (size + HDR + 7) & ~7;
        cons += step;
        if (len & DISCARD) {
          this.stats.discarded++;
        } else {
          n++;
          bytes += size;
          // Published position first: a close() from inside visit commits past this record.
          this.#cons = cons;
          visit(data, off + HDR, size);
          if (this.#closed) break; // closed from inside visit: the mapping is gone
        }
        off = (off + step) & mask;
      }
    } finally {
      this.#cons = cons;
      this.stats.records += n;
      this.stats.bytes += bytes;
      this.commit();
    }
    return n;
  }

  /** Size of the record last returned by {@link take}. */
  takenSize = 0;

  /**
   * Take the next record for a pull-style consumer (an async iterator): returns its offset in
   * {@link data} (size in {@link takenSize}), or -1 when none is ready. Records are read in batches;
   * the position is committed when a batch is used up (or by {@link commit} when the consumer stops).
   */
  take(): number {
    if (this.#closed) return -1;
    for (;;) {
      if (this.#cons >= this.#batchEnd) {
        this.commit();
        this.#batchEnd = Number(Atomics.load(this.#prodPos, 0));
        if (this.#cons >= this.#batchEnd) return -1;
      }
      const off = this.#cons & this.#mask;
      const len = Atomics.load(this.#hdr, off >> 2);
      if (len & BUSY) {
        this.#batchEnd = this.#cons;
        this.commit();
        return -1;
      }
      const size = len & LEN_MASK;
      this.#cons += (size + HDR + 7) & ~7;
      if (len & DISCARD) {
        this.stats.discarded++;
        continue;
      }
      this.stats.records++;
      this.stats.bytes += size;
      this.takenSize = size;
      return off + HDR;
    }
  }

  /** True when the batch being taken is used up (a reader of several rings moves on to the next). */
  get batchDone(): boolean {
    return this.#cons >= this.#batchEnd;
  }

  /**
   * True when a committed record is waiting. Called after a commit, right before sleeping: the
   * header read follows the (fully fenced) position store, so a record the producer completes
   * concurrently is either seen here or triggers a wake-up.
   */
  ready(): boolean {
    if (this.#closed) return false;
    this.commit();
    const prod = Number(Atomics.load(this.#prodPos, 0));
    if (this.#cons >= prod) return false;
    return (Atomics.load(this.#hdr, (this.#cons & this.#mask) >> 2) & BUSY) === 0;
  }

  /** Release the mappings and the fd (the caller closes the poll handle first). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.commit();
    this.#closed = true;
    const s = sys();
    try {
      s.munmap(this.#consumer);
      s.munmap(this.#producer);
    } finally {
      this.fd.close();
    }
  }
}
