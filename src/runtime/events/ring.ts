// One BPF ring buffer (BPF_MAP_TYPE_RINGBUF) mapped into this process: reads records in place from the
// double-mapped data area and commits the consumer position once per batch. Used by RingBufReader.

import { ConsumerConflictError, TsbpfError } from "../../errors.js";
import { MAP, PROT, RINGBUF } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { sys } from "../../sys/seam.js";
import { pageSize } from "../../sys/system.js";
import type { BpfMap } from "../map.js";
import { claimRing, type ConsumerClaim } from "./consumers.js";

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
 *
 * A ring has exactly one consumer. In this process that is enforced when the ring is opened (by map id:
 * RINGBUF_READER_EXISTS). Another consumer elsewhere (another process, a raw mapping) is detected when
 * the consumer position is not the one this ring last published — checked at the start of every batch,
 * and by the compare-and-swap that publishes — and stops this ring with RINGBUF_CONCURRENT_CONSUMER
 * without writing. The position published is never behind the previous one nor beyond the producer's.
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
  readonly #claim: ConsumerClaim;
  /** Set when another consumer was detected (or a header made no sense): the ring is stopped for good. */
  #failure: TsbpfError | undefined;
  #failureThrown = false;

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
    this.#claim = claimRing(map);
    try {
      this.fd = map.fd.dup(`ring buffer "${map.name}"`);
    } catch (e) {
      this.#claim.release();
      throw e;
    }
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
      this.#claim.release();
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

  /**
   * Publish the consumer position (once per batch): the kernel may reuse the space from here on.
   * Publishes only a position between the last one published and the producer's, and only if the
   * ring still holds the last one published (else RINGBUF_CONCURRENT_CONSUMER, nothing written).
   * Does nothing once the ring is stopped.
   */
  commit(): void {
    if (this.#cons === this.#committed || this.#closed || this.#failure) return;
    const next = this.#cons;
    const prod = Number(Atomics.load(this.#prodPos, 0));
    if (next < this.#committed || next > prod) {
      throw this.#raise(this.#badPosition(`position ${next} to publish is outside [${this.#committed}, ${prod}] (last published, producer)`));
    }
    // Compare-and-swap, sequentially consistent (a full barrier): the producer's wake-up decision
    // reads the position after its own full barrier, so a record committed while we go to sleep
    // always wakes us; and a position someone else wrote in the meantime is never overwritten.
    const seen = Atomics.compareExchange(this.#consPos, 0, BigInt(this.#committed), BigInt(next));
    if (Number(seen) !== this.#committed) throw this.#raise(this.#concurrent(Number(seen)));
    this.#committed = next;
    this.stats.commits++;
  }

  /** Before reading a batch: the consumer position must still be the one this ring published. */
  #checkOwner(): void {
    const seen = Number(Atomics.load(this.#consPos, 0));
    if (seen !== this.#committed) throw this.#raise(this.#concurrent(seen));
  }

  /** A header at `pos` whose record would end beyond the producer position: someone else consumed (or garbage). */
  #badHeader(pos: number, step: number, prod: number): TsbpfError {
    const seen = Number(Atomics.load(this.#consPos, 0));
    if (seen !== this.#committed) return this.#raise(this.#concurrent(seen));
    return this.#raise(this.#badPosition(`the record header at position ${pos} spans ${step} bytes, beyond the producer position ${prod}`));
  }

  #concurrent(seen: number): TsbpfError {
    return new ConsumerConflictError(
      "RINGBUF_CONCURRENT_CONSUMER",
      this.name,
      this.#claim.mapId,
      `ring buffer "${this.name}" (map id ${this.#claim.mapId}): another consumer moved the consumer position ` +
        `(to ${seen}; this reader last published ${this.#committed}). A ring buffer has exactly one consumer: ` +
        `another process (or a raw mapping of the ring) is reading it. This reader stopped without publishing ` +
        `its position; close it, and make sure one consumer reads the ring.`,
    );
  }

  #badPosition(what: string): TsbpfError {
    return new TsbpfError("RINGBUF_BAD_POSITION", `ring buffer "${this.name}": ${what}; the reader stopped without publishing it`);
  }

  /** Stop the ring with `e` (the first error wins) and return it to be thrown. */
  #raise(e: TsbpfError): TsbpfError {
    this.#failure ??= e;
    this.#failureThrown = true;
    return this.#failure;
  }

  /**
   * Visit up to `limit` records of the current batch in place (a batch is everything the producer had
   * committed when it started), then commit. Returns the number visited. When `visit` throws, the
   * record counts as delivered (a record that always fails cannot wedge the ring) and the error propagates.
   * `visit` may close the ring (the reader): consumption stops there, with that record consumed.
   */
  consume(visit: RecordVisitor, limit = Infinity): number {
    if (this.#closed) return 0;
    if (this.#failure) throw this.#raise(this.#failure);
    this.#checkOwner();
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
        if (cons + step > prod) throw this.#badHeader(cons, step, prod);
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
    if (this.#failure) throw this.#raise(this.#failure);
    for (;;) {
      if (this.#cons >= this.#batchEnd) {
        this.commit();
        this.#checkOwner();
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
      const step = (size + HDR + 7) & ~7;
      if (this.#cons + step > this.#batchEnd) throw this.#badHeader(this.#cons, step, this.#batchEnd);
      this.#cons += step;
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
    if (this.#failure) return true; // let the consumer run into the error
    try {
      this.commit();
      const seen = Number(Atomics.load(this.#consPos, 0));
      if (seen !== this.#committed) this.#failure = this.#concurrent(seen);
    } catch {
      this.#failureThrown = false; // recorded in #failure, reported by the consumer's next take
    }
    if (this.#failure) return true;
    const prod = Number(Atomics.load(this.#prodPos, 0));
    if (this.#cons >= prod) return false;
    return (Atomics.load(this.#hdr, (this.#cons & this.#mask) >> 2) & BUSY) === 0;
  }

  /**
   * Publish what was handed out, release the mappings, the fd and the claim (the caller closes the poll
   * handle first). Idempotent. Throws RINGBUF_CONCURRENT_CONSUMER (after releasing everything) when
   * another consumer is detected here, or was detected earlier and not yet reported.
   */
  close(): void {
    if (this.#closed) return;
    let failure: unknown;
    try {
      this.commit();
      // A reader that never woke up (another consumer kept the ring empty) sees it only here.
      if (!this.#failure) this.#checkOwner();
    } catch (e) {
      failure = e;
    }
    if (failure === undefined && this.#failure && !this.#failureThrown) failure = this.#raise(this.#failure);
    this.#closed = true;
    const s = sys();
    try {
      s.munmap(this.#consumer);
      s.munmap(this.#producer);
    } finally {
      this.fd.close();
      this.#claim.release();
    }
    if (failure !== undefined) throw failure;
  }
}
