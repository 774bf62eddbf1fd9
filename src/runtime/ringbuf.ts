// Consumer of BPF ring buffer maps: rings are mmap'd (zero copy), readiness comes from the libuv loop
// (no busy polling, no threads), the consumer position is committed once per batch; one reader can
// serve several rings (like libbpf's ring_buffer__add), as an async iterator or with callbacks.

import { TsbpfError } from "../errors.js";
import { closedExplicitly, releaseOnCollect } from "../sys/finalize.js";
import type { PollHandle } from "../sys/seam.js";
import type { Layout } from "../types/index.js";
import { BatchIterator, EventIterator, NONE, type PullSource } from "./events/iterator.js";
import { Readiness } from "./events/readiness.js";
import { Ring, type RecordVisitor, type RingStats } from "./events/ring.js";
import type { BpfMap } from "./map.js";

export type { RecordVisitor } from "./events/ring.js";

/** Options of a {@link RingBufReader}. */
export interface RingBufReaderOptions<T> {
  /**
   * Decode every record with this layout: the reader's iteration, `batches()` and `listen()` then hand
   * out decoded values instead of bytes.
   */
  readonly layout?: Layout<T, never, unknown>;
  /**
   * A record shorter than the layout: `"throw"` (default) raises SHORT_RECORD from the iteration or
   * callback; `"skip"` drops it and counts it in `stats.skipped`.
   */
  readonly shortRecords?: "throw" | "skip";
}

/** Counters of a reader (all its rings together). */
export interface RingBufStats extends RingStats {
  /** Records dropped by this reader (shorter than the layout, with `shortRecords: "skip"`). */
  skipped: number;
  /** Times the loop woke the reader up. */
  wakeups: number;
}

const SKIP: unique symbol = Symbol("skip");

/** Records one wake-up of listen() may hand out before it yields to the loop. */
const LISTEN_BUDGET = 1 << 16;

/**
 * Reads records from one or more BPF_MAP_TYPE_RINGBUF maps.
 *
 * Each ring is mapped into memory and read in place. Records are handed out in the order the kernel
 * committed them (per ring); the consumer position is published once per batch, so the kernel reuses
 * the space of a batch only after it was handed out. A slow consumer never loses track: when it falls
 * behind, the ring fills up and the kernel refuses new records (`bpf_ringbuf_reserve` returns NULL,
 * `bpf_ringbuf_output` an error) — only the BPF program can count those, the kernel keeps no tally.
 *
 * Three ways to consume:
 * - async iteration (`for await`), of raw bytes (copies) or layout-decoded records, or `batches()`;
 * - callbacks driven by the loop: `listen(fn)` / `listenAt(fn)` until the reader closes;
 * - synchronous `drain(fn)` / `drainAt(fn)` of whatever is committed now.
 *
 * Closing the reader (or the Collection that made it with `coll.ringbuf()`) ends every iteration and
 * listener, closes the poll handles and unmaps the rings. The reader holds its own duplicate of each
 * map fd, so closing a map first is harmless.
 *
 * One consumer per ring: a second reader of a ring in this process (same kernel map id, however the map
 * was opened) is refused with `RINGBUF_READER_EXISTS`; a consumer elsewhere that moves the ring's
 * consumer position stops the reader with `RINGBUF_CONCURRENT_CONSUMER`, and it publishes nothing
 * from then on (see docs/events.md, "One consumer per ring").
 *
 * @example
 * // one ring, decoded by a shared layout
 * using events = new RingBufReader(coll.map("events"), { layout: ExecEvent });
 * for await (const ev of events) console.log(ev.pid, ev.comm);
 *
 * @example
 * // two rings in one reader, each with its own callback, driven by the loop
 * const reader = new RingBufReader();
 * reader.add(coll.map("execs"), (rec) => onExec(ExecEvent.decode(rec)));
 * reader.add(coll.map("exits"), (rec) => onExit(ExitEvent.decode(rec)));
 * reader.listen(() => {});            // resolves when reader.close() is called
 */
export class RingBufReader<T = Uint8Array> implements AsyncIterable<T>, Disposable {
  readonly #rings: Ring[] = [];
  readonly #readiness: Readiness;
  readonly #layout: Layout<T, never, unknown> | undefined;
  readonly #skipShort: boolean;
  readonly #source: PullSource<T>;
  #cur = 0;
  #skipped = 0;
  #listening: (() => void) | undefined;
  #closed = false;

  /**
   * @param maps the ring buffer map(s) to read; more can be added with {@link add}.
   * @param options layout to decode with, short-record policy.
   */
  constructor(maps?: BpfMap | readonly BpfMap[], options: RingBufReaderOptions<T> = {}) {
    this.#layout = options.layout;
    this.#skipShort = options.shortRecords === "skip";
    const list = maps === undefined ? [] : Array.isArray(maps) ? (maps as readonly BpfMap[]) : [maps as BpfMap];
    const label = `ring buffer reader (${list.map((m) => m.name).join(", ") || "empty"})`;
    this.#readiness = new Readiness(label, () => !this.#idle());
    releaseOnCollect(this, { what: label, release: releaseRings(this.#readiness.handles, this.#rings) });
    try {
      for (const m of list) this.add(m);
    } catch (e) {
      this.close();
      throw e;
    }
    const self = this;
    this.#source = {
      take: () => self.#take(),
      idle: () => self.#idle(),
      wait: () => self.#wait(),
      get closed() {
        return self.#closed;
      },
      release: () => {
        for (const r of self.#rings) r.commit();
      },
    };
  }

  /**
   * Add another ring buffer map. With `handler`, that ring's records always go to it (a view valid
   * during the call), whichever way the reader is consumed; otherwise they go to the reader's consumer.
   * Throws RINGBUF_READER_EXISTS when another reader of this process reads that ring.
   */
  add(map: BpfMap, handler?: (record: Uint8Array) => void): this {
    if (this.#closed) throw new TsbpfError("CLOSED", `ring buffer reader: add map "${map.name}": the reader is closed`);
    if (this.#rings.some((r) => r.map === map)) {
      throw new TsbpfError("EEXIST", `ring buffer reader: map "${map.name}" is already being read`);
    }
    const ring = new Ring(map, handler);
    try {
      this.#readiness.add(ring.fd.value);
    } catch (e) {
      ring.close();
      throw e;
    }
    this.#rings.push(ring);
    return this;
  }

  /** The first ring's map. */
  get map(): BpfMap {
    const r = this.#rings[0];
    if (!r) throw new TsbpfError("NOT_FOUND", "ring buffer reader: no ring buffer added");
    return r.map;
  }

  /** Names of the maps read, in the order they were added. */
  get maps(): readonly string[] {
    return this.#rings.map((r) => r.name);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting in all rings (records not yet handed out, with their 8-byte headers). */
  get pending(): number {
    let n = 0;
    for (const r of this.#rings) n += r.pending;
    return n;
  }

  /** Counters since the reader was created. */
  get stats(): RingBufStats {
    const s: RingBufStats = { records: 0, bytes: 0, discarded: 0, commits: 0, skipped: this.#skipped, wakeups: this.#readiness.wakeups };
    for (const r of this.#rings) {
      s.records += r.stats.records;
      s.bytes += r.stats.bytes;
      s.discarded += r.stats.discarded;
      s.commits += r.stats.commits;
    }
    return s;
  }

  /* ---------- synchronous ---------- */

  /**
   * Hand every record committed now to `fn` (a view into the ring, valid only during the call; rings
   * with their own handler use it instead), one batch per ring, committing each ring's position once.
   * Without `fn` the records are consumed unseen. Returns the number of records. Never waits.
   */
  drain(fn?: (record: Uint8Array) => void, limit = Infinity): number {
    const visit: RecordVisitor | undefined = fn ? (b, off, size) => fn(b.subarray(off, off + size)) : undefined;
    return this.#drain(visit, limit);
  }

  /**
   * Like {@link drain} without allocating anything per record: `fn(bytes, offset, size)` gets the
   * ring's data area and where the record lies in it (valid only during the call).
   */
  drainAt(fn: RecordVisitor, limit = Infinity): number {
    return this.#drain(fn, limit);
  }

  #drain(visit: RecordVisitor | undefined, limit: number): number {
    let n = 0;
    for (const r of this.#rings) {
      if (n >= limit) break;
      n += r.consume(r.handler ? handlerVisitor(r.handler) : (visit ?? discard), limit - n);
    }
    return n;
  }

  /* ---------- waiting and callbacks ---------- */

  /**
   * Resolves when a record may be ready (true), or when the reader is closed (false). Never busy-waits:
   * it sleeps on the libuv loop. Rejects with POLL_FAILED when the loop reports an error on a ring.
   */
  async wait(): Promise<boolean> {
    if (this.#closed) return false;
    if (!this.#idle()) return true;
    await this.#wait();
    return !this.#closed;
  }

  #wait(): Promise<void> {
    return this.#readiness.wait().then(() => this.#readiness.check());
  }

  /**
   * Callback form: call `fn` with every record (decoded with the reader's layout, else a view valid
   * only during the call) as the loop reports data, batch after batch while records keep coming, up
   * to 65536 records per wake-up (so a fast producer cannot starve the rest of the loop). Resolves when the reader is closed or {@link stopListening}
   * is called; rejects (and stops listening) when `fn` throws or polling fails — the failing record
   * counts as delivered. Keeps the process alive until then.
   *
   * @example
   * const reader = new RingBufReader(coll.map("events"), { layout: Event });
   * const done = reader.listen((ev) => counts[ev.cpu]++);
   * setTimeout(() => reader.close(), 1000);
   * await done;
   */
  listen(fn: (record: T) => void): Promise<void> {
    const convert = this.#convertView;
    const skip = SKIP;
    return this.listenAt((bytes, off, size) => {
      const v = convert(bytes, off, size);
      if (v !== skip) fn(v as T);
    });
  }

  /**
   * {@link listen} with the allocation-free visitor of {@link drainAt}. `keepAlive: false`: the
   * listener does not keep the process alive (the object's log reader, src/runtime/log.ts).
   */
  listenAt(fn: RecordVisitor, options: { readonly keepAlive?: boolean } = {}): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#listening) {
      return Promise.reject(new TsbpfError("BUSY", `ring buffer reader (${this.maps.join(", ")}): already listening`));
    }
    return new Promise<void>((resolve, reject) => {
      const stop = (err?: unknown) => {
        if (this.#listening !== stopFn) return;
        this.#listening = undefined;
        this.#readiness.unlisten();
        if (err === undefined) resolve();
        else reject(err);
      };
      const stopFn = () => stop();
      this.#listening = stopFn;
      const run = () => {
        try {
          this.#readiness.check();
          // Batch after batch while records keep coming (each pass commits), up to a budget: a
          // round trip through the loop costs a few microseconds, but a producer faster than the
          // consumer must not keep the rest of the loop from running.
          let budget = LISTEN_BUDGET;
          while (budget > 0 && !this.#closed && this.#listening === stopFn) {
            const n = this.#drain(fn, budget);
            if (n === 0) break;
            budget -= n;
          }
        } catch (e) {
          stop(e);
        }
      };
      this.#readiness.listen(run, options.keepAlive ?? true);
      run();
    });
  }

  /** End {@link listen}: its promise resolves; the reader stays open. */
  stopListening(): void {
    this.#listening?.();
  }

  /* ---------- async iteration ---------- */

  /** Async iterator over the reader's records: decoded with its layout, else copied bytes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new EventIterator(this.#source);
  }

  /**
   * Async iterator over raw records, copied so they stay valid. Ends when the reader is closed.
   */
  raw(): AsyncIterableIterator<Uint8Array> {
    return new EventIterator(this.#pull((b, off, size) => b.slice(off, off + size)));
  }

  /**
   * Async iterator over records decoded with `layout` (whatever the reader's own layout).
   * Ends when the reader is closed.
   */
  records<U>(layout: Layout<U, never, unknown>): AsyncIterableIterator<U> {
    return new EventIterator(this.#pull(this.#decoder(layout)));
  }

  /**
   * Async iterator over arrays of records (decoded with the reader's layout, else copies): one promise
   * per batch of up to `max` records instead of one per record — the fast way to iterate.
   */
  batches(max = 4096): AsyncIterableIterator<T[]> {
    return new BatchIterator(this.#source, max);
  }

  #pull<U>(convert: (bytes: Uint8Array, off: number, size: number) => U | typeof SKIP): PullSource<U> {
    const self = this;
    return {
      take: () => self.#takeWith(convert) as U | typeof NONE,
      idle: () => self.#idle(),
      wait: () => self.#wait(),
      get closed() {
        return self.#closed;
      },
      release: () => {
        for (const r of self.#rings) r.commit();
      },
    };
  }

  readonly #convertCopy = (bytes: Uint8Array, off: number, size: number): T | typeof SKIP => {
    return this.#layout ? this.#decode(this.#layout, bytes, off, size) : (bytes.slice(off, off + size) as T);
  };

  readonly #convertView = (bytes: Uint8Array, off: number, size: number): T | typeof SKIP => {
    return this.#layout ? this.#decode(this.#layout, bytes, off, size) : (bytes.subarray(off, off + size) as T);
  };

  #decoder<U>(layout: Layout<U, never, unknown>): (bytes: Uint8Array, off: number, size: number) => U | typeof SKIP {
    return (bytes, off, size) => this.#decode(layout, bytes, off, size);
  }

  #decode<U>(layout: Layout<U, never, unknown>, bytes: Uint8Array, off: number, size: number): U | typeof SKIP {
    if (size < layout.size) {
      if (this.#skipShort) {
        this.#skipped++;
        return SKIP;
      }
      throw new TsbpfError("SHORT_RECORD", `ring buffer reader (${this.maps.join(", ")}): record of ${size} bytes is shorter than the layout (${layout.size} bytes)`);
    }
    return layout.decode(bytes, off);
  }

  #take(): T | typeof NONE {
    return this.#takeWith(this.#convertCopy);
  }

  /** The next record of any ring (round robin, one batch per ring at a time), or NONE. */
  #takeWith<U>(convert: (bytes: Uint8Array, off: number, size: number) => U | typeof SKIP): U | typeof NONE {
    const rings = this.#rings;
    const n = rings.length;
    let tried = 0;
    while (tried < n) {
      const r = rings[this.#cur];
      if (r.handler) {
        r.consume(handlerVisitor(r.handler));
        this.#cur = (this.#cur + 1) % n;
        tried++;
        continue;
      }
      const off = r.take();
      if (off < 0) {
        this.#cur = (this.#cur + 1) % n;
        tried++;
        continue;
      }
      // Converting copies the record out, so the end of a batch can be published right away.
      let v: U | typeof SKIP;
      try {
        v = convert(r.data, off, r.takenSize);
      } finally {
        if (r.batchDone) {
          r.commit();
          if (n > 1) this.#cur = (this.#cur + 1) % n;
        }
      }
      if (v !== SKIP) return v;
      tried = 0;
    }
    return NONE;
  }

  #idle(): boolean {
    for (const r of this.#rings) if (r.ready()) return false;
    return true;
  }

  /* ---------- shutdown ---------- */

  /**
   * Stop reading: pending iterations end (they return), listeners resolve, poll handles close, the
   * rings are unmapped and their fds closed, and the rings may be read by a new reader. Idempotent.
   * Throws RINGBUF_CONCURRENT_CONSUMER (once everything is released) when another consumer of a ring
   * is first seen here, at the last commit: nothing is published then.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closedExplicitly(this);
    this.#listening?.();
    this.#readiness.close();
    let first: unknown;
    for (const r of this.#rings) {
      try {
        r.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** What a reader collected unclosed releases: its poll handles first, then the rings (mappings, fds). */
function releaseRings(handles: readonly PollHandle[], rings: readonly Ring[]): () => void {
  return () => {
    for (const h of handles) h.close();
    for (const r of rings) {
      try {
        r.close(); // releases the ring's claim too, so a new reader can take the ring
      } catch {
        // another consumer was detected: nobody is left to tell, and everything is released anyway
      }
    }
  };
}

/** The visitor of a drain() without a callback: records are consumed (and counted) unseen. */
const discard: RecordVisitor = () => {};

const handlerVisitors = new WeakMap<(record: Uint8Array) => void, RecordVisitor>();

function handlerVisitor(h: (record: Uint8Array) => void): RecordVisitor {
  let v = handlerVisitors.get(h);
  if (!v) {
    v = (b, off, size) => h(b.subarray(off, off + size));
    handlerVisitors.set(h, v);
  }
  return v;
}
