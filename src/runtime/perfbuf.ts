// Consumer of a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY): one PERF_COUNT_SW_BPF_OUTPUT
// ring per CPU, mmap'd and read in place, readiness from the libuv loop, lost-sample counts as events.

import { TsbpfError } from "../errors.js";
import { mapDelete, mapUpdate } from "../sys/bpf.js";
import type { Fd } from "../sys/fd.js";
import { closedExplicitly, releaseOnCollect } from "../sys/finalize.js";
import type { PollHandle } from "../sys/seam.js";
import { onlineCpus, pageSize, possibleCpus } from "../sys/system.js";
import type { Layout } from "../types/index.js";
import { BatchIterator, EventIterator, NONE, type PullSource } from "./events/iterator.js";
import { claimPerfSlots, type ConsumerClaim } from "./events/consumers.js";
import { PerfRing, TAKEN, type PerfStats } from "./events/perf-ring.js";
import { Readiness } from "./events/readiness.js";
import type { BpfMap } from "./map.js";

export type { PerfStats } from "./events/perf-ring.js";

/** A sample written by `bpf_perf_event_output` on `cpu`. */
export interface PerfSample<T> {
  readonly type: "sample";
  readonly cpu: number;
  /** The raw sample (the kernel pads it so that 4 + size is a multiple of 8), or its decoded layout. */
  readonly data: T;
}

/** The kernel could not write `count` samples on `cpu` because that CPU's ring was full. */
export interface PerfLost {
  readonly type: "lost";
  readonly cpu: number;
  readonly count: number;
}

/** What a perf buffer reader hands out: samples, and lost-sample reports in their place in the stream. */
export type PerfEvent<T> = PerfSample<T> | PerfLost;

/** Options of a {@link PerfBufReader}. */
export interface PerfBufReaderOptions<T> {
  /** Decode every sample with this layout (iteration and `listen()` hand out decoded values). */
  readonly layout?: Layout<T, never, unknown>;
  /** Data pages per CPU ring, a power of 2 (default 8: 32 KiB with 4 KiB pages). */
  readonly pages?: number;
  /** Wake the reader after this many samples on a CPU (default 1, like libbpf). */
  readonly wakeupEvents?: number;
  /** Wake the reader when this many bytes wait on a CPU instead (overrides wakeupEvents). */
  readonly wakeupWatermark?: number;
  /** CPUs to read (default: every online CPU below the map's size). */
  readonly cpus?: readonly number[];
  /** A sample shorter than the layout: `"throw"` (default, SHORT_RECORD) or `"skip"` (counted in stats.skipped). */
  readonly shortRecords?: "throw" | "skip";
}

/** Counters of a perf buffer reader (all CPUs together). */
export interface PerfBufStats extends PerfStats {
  /** Samples dropped by this reader (shorter than the layout, with `shortRecords: "skip"`). */
  skipped: number;
  /** Times the loop woke the reader up. */
  wakeups: number;
}

const SKIP: unique symbol = Symbol("skip");

/** Samples one wake-up of listen() may hand out before it yields to the loop. */
const LISTEN_BUDGET = 1 << 16;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/**
 * Reads a BPF perf event array: opens a PERF_COUNT_SW_BPF_OUTPUT event on each CPU, maps its ring,
 * stores the event in the map slot of that CPU (so `bpf_perf_event_output(ctx, &map,
 * BPF_F_CURRENT_CPU, ...)` writes there) and enables it.
 *
 * Samples come out in order per CPU (CPUs take turns, a batch each). When a CPU's ring is full the
 * kernel drops samples and later writes a LOST record with their number: the reader hands it out as a
 * `{ type: "lost", cpu, count }` event at that point of the stream (and sums it in `stats.lost`).
 *
 * Readiness: the kernel wakes the reader every `wakeupEvents` samples (or `wakeupWatermark` bytes) per
 * CPU; samples below that threshold wait in the ring until the next wake-up or `drain()`.
 *
 * Closing the reader (or the Collection that made it with `coll.perfbuf()`) ends iterations and
 * listeners, clears the map slots it set, closes poll handles, unmaps the rings and closes the events.
 *
 * One reader per slot: a second reader of a CPU slot already read in this process (same kernel map id,
 * however the map was opened) is refused with `PERFBUF_READER_EXISTS`. A reader in another process
 * cannot be detected (the kernel does not let user space read a slot): it silently takes the slots.
 *
 * @example
 * using perf = new PerfBufReader(coll.map("events"), { layout: Event });
 * for await (const ev of perf) {
 *   if (ev.type === "lost") console.warn(`cpu ${ev.cpu}: ${ev.count} samples lost`);
 *   else console.log(ev.cpu, ev.data.pid);
 * }
 */
export class PerfBufReader<T = Uint8Array> implements AsyncIterable<PerfEvent<T>>, Disposable {
  readonly map: BpfMap;
  readonly #mapFd: Fd;
  readonly #rings: PerfRing[] = [];
  readonly #readiness: Readiness;
  readonly #layout: Layout<T, never, unknown> | undefined;
  readonly #skipShort: boolean;
  readonly #label: string;
  #cur = 0;
  #skipped = 0;
  #listening: (() => void) | undefined;
  #closed = false;
  readonly #claim: ConsumerClaim;

  constructor(map: BpfMap, options: PerfBufReaderOptions<T> = {}) {
    this.#label = `perf buffer "${map.name}"`;
    if (map.type !== "PERF_EVENT_ARRAY") {
      throw new TsbpfError("BAD_MAP_TYPE", `perf buffer reader: map "${map.name}" is a ${map.type} map, not PERF_EVENT_ARRAY`);
    }
    const pages = options.pages ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new TsbpfError("INVALID_ARGUMENT", `${this.#label}: pages must be a power of 2, got ${String(pages)}`);
    }
    const wakeupEvents = options.wakeupEvents ?? 1;
    if (!Number.isInteger(wakeupEvents) || wakeupEvents < 1) {
      throw new TsbpfError("INVALID_ARGUMENT", `${this.#label}: wakeupEvents must be a positive integer, got ${String(wakeupEvents)}`);
    }
    const page = pageSize();
    const watermark = options.wakeupWatermark;
    if (watermark !== undefined && (!Number.isInteger(watermark) || watermark < 1 || watermark >= pages * page)) {
      throw new TsbpfError("INVALID_ARGUMENT", `${this.#label}: wakeupWatermark must be between 1 and the ring size (${pages * page}), got ${String(watermark)}`);
    }
    this.map = map;
    this.#layout = options.layout;
    this.#skipShort = options.shortRecords === "skip";
    const slots = map.maxEntries > 0 ? map.maxEntries : possibleCpus();
    const cpus = options.cpus ?? onlineCpus().filter((c) => c < slots);
    for (const c of cpus) {
      if (!Number.isInteger(c) || c < 0 || c >= slots) {
        throw new TsbpfError("INVALID_ARGUMENT", `${this.#label}: cpu ${String(c)} has no slot (the map has ${slots})`);
      }
    }
    // One reader per slot in this process (by map id): a second one would replace the first one's
    // events in the map, and the first would receive nothing and no lost report.
    this.#claim = claimPerfSlots(map, cpus);
    this.#readiness = new Readiness(this.#label, () => !this.#idle());
    try {
      this.#mapFd = map.fd.dup(this.#label);
    } catch (e) {
      this.#claim.release();
      throw e;
    }
    // Built outside this constructor: its closures share a context that holds `this`.
    releaseOnCollect(this, { what: `perf buffer reader (${map.name})`, release: releaseRings(this.#readiness.handles, this.#rings, this.#mapFd, this.#claim) });
    try {
      const config = { pages, wakeupEvents, ...(watermark !== undefined ? { wakeupWatermark: watermark } : {}) };
      for (const cpu of cpus) {
        const ring = new PerfRing(cpu, config, page);
        this.#rings.push(ring);
        mapUpdate(this.#mapFd, u32(cpu), u32(ring.fd.value));
        this.#readiness.add(ring.fd.value);
        ring.enable();
      }
      this.#readiness.keepRegistered();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The CPUs read, in order. */
  get cpus(): readonly number[] {
    return this.#rings.map((r) => r.cpu);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting in all CPU rings. */
  get pending(): number {
    let n = 0;
    for (const r of this.#rings) n += r.pending;
    return n;
  }

  /** Counters since the reader was created. */
  get stats(): PerfBufStats {
    const s: PerfBufStats = { samples: 0, lost: 0, lostRecords: 0, bytes: 0, other: 0, commits: 0, skipped: this.#skipped, wakeups: this.#readiness.wakeups };
    for (const r of this.#rings) {
      s.samples += r.stats.samples;
      s.lost += r.stats.lost;
      s.lostRecords += r.stats.lostRecords;
      s.bytes += r.stats.bytes;
      s.other += r.stats.other;
      s.commits += r.stats.commits;
    }
    return s;
  }

  /* ---------- synchronous ---------- */

  /**
   * Hand every record waiting now to the callbacks, CPU by CPU, one batch each: `onSample(bytes, cpu)`
   * gets a view valid only during the call, `onLost(count, cpu)` the number of samples the kernel
   * dropped. Returns the number of samples handed out. Never waits.
   */
  drain(onSample: (data: Uint8Array, cpu: number) => void, onLost?: (count: number, cpu: number) => void, limit = Infinity): number {
    return this.#drain(
      (bytes, off, size, cpu) => onSample(bytes.subarray(off, off + size), cpu),
      onLost,
      limit,
    );
  }

  /** Like {@link drain} without allocating per sample: `onSample(bytes, offset, size, cpu)`. */
  drainAt(
    onSample: (bytes: Uint8Array, offset: number, size: number, cpu: number) => void,
    onLost?: (count: number, cpu: number) => void,
    limit = Infinity,
  ): number {
    return this.#drain(onSample, onLost, limit);
  }

  #drain(
    onSample: (bytes: Uint8Array, offset: number, size: number, cpu: number) => void,
    onLost: ((count: number, cpu: number) => void) | undefined,
    limit: number,
  ): number {
    let n = 0;
    for (const r of this.#rings) {
      try {
        while (n < limit) {
          const k = r.take();
          if (k === TAKEN.NONE) break;
          if (k === TAKEN.SAMPLE) {
            n++;
            onSample(r.takenBytes, r.takenOffset, r.takenSize, r.cpu);
          } else {
            onLost?.(r.takenLost, r.cpu);
          }
          if (r.batchDone) break;
        }
      } finally {
        r.commit();
      }
    }
    return n;
  }

  /* ---------- waiting and callbacks ---------- */

  /** Resolves when a record may be ready (true), or when the reader is closed (false). */
  async wait(): Promise<boolean> {
    if (this.#closed) return false;
    if (!this.#idle()) return true;
    await this.#wait();
    return !this.#closed;
  }

  #wait(): Promise<void> {
    return this.#readiness.wait().then(() => this.#readiness.check());
  }

  #idle(): boolean {
    for (const r of this.#rings) if (r.ready()) return false;
    return true;
  }

  /**
   * Callback form: `onSample(data, cpu)` for every sample (decoded with the reader's layout, else a view
   * valid during the call) and `onLost(count, cpu)` for every lost-sample report, as the loop reports
   * data. Resolves when the reader is closed or {@link stopListening} is called; rejects (and stops)
   * when a callback throws. Keeps the process alive until then.
   *
   * @example
   * const perf = new PerfBufReader(coll.map("events"), { layout: Event });
   * let lost = 0;
   * const done = perf.listen((ev, cpu) => handle(ev, cpu), (n) => (lost += n));
   */
  listen(onSample: (data: T, cpu: number) => void, onLost?: (count: number, cpu: number) => void): Promise<void> {
    const layout = this.#layout;
    return this.listenAt((bytes, off, size, cpu) => {
      if (layout) {
        const v = this.#decode(layout, bytes, off, size);
        if (v !== SKIP) onSample(v, cpu);
      } else {
        onSample(bytes.subarray(off, off + size) as T, cpu);
      }
    }, onLost);
  }

  /** {@link listen} with the allocation-free sample callback of {@link drainAt}. */
  listenAt(
    onSample: (bytes: Uint8Array, offset: number, size: number, cpu: number) => void,
    onLost?: (count: number, cpu: number) => void,
  ): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#listening) return Promise.reject(new TsbpfError("BUSY", `${this.#label}: already listening`));
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
          // Batch after batch while samples keep coming, up to a budget (see RingBufReader.listen).
          let budget = LISTEN_BUDGET;
          while (budget > 0 && !this.#closed && this.#listening === stopFn) {
            const n = this.#drain(onSample, onLost, budget);
            if (n === 0) break;
            budget -= n;
          }
        } catch (e) {
          stop(e);
        }
      };
      this.#readiness.listen(run);
      run();
    });
  }

  /** End {@link listen}: its promise resolves; the reader stays open. */
  stopListening(): void {
    this.#listening?.();
  }

  /* ---------- async iteration ---------- */

  /** Async iterator over samples (decoded with the reader's layout, else copied) and lost reports. */
  [Symbol.asyncIterator](): AsyncIterableIterator<PerfEvent<T>> {
    const layout = this.#layout;
    return new EventIterator(this.#pull((bytes, off, size) => (layout ? this.#decode(layout, bytes, off, size) : (bytes.slice(off, off + size) as T))));
  }

  /** Async iterator over samples decoded with `layout`, and lost reports. */
  records<U>(layout: Layout<U, never, unknown>): AsyncIterableIterator<PerfEvent<U>> {
    return new EventIterator(this.#pull((bytes, off, size) => this.#decode(layout, bytes, off, size)));
  }

  /** Async iterator over arrays of events: one promise per batch of up to `max` events. */
  batches(max = 4096): AsyncIterableIterator<PerfEvent<T>[]> {
    const layout = this.#layout;
    return new BatchIterator(this.#pull((bytes, off, size) => (layout ? this.#decode(layout, bytes, off, size) : (bytes.slice(off, off + size) as T))), max);
  }

  #pull<U>(convert: (bytes: Uint8Array, off: number, size: number) => U | typeof SKIP): PullSource<PerfEvent<U>> {
    const self = this;
    return {
      take: () => self.#take(convert),
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

  #take<U>(convert: (bytes: Uint8Array, off: number, size: number) => U | typeof SKIP): PerfEvent<U> | typeof NONE {
    const rings = this.#rings;
    const n = rings.length;
    let tried = 0;
    while (tried < n) {
      const r = rings[this.#cur];
      const k = r.take();
      if (k === TAKEN.NONE) {
        this.#cur = (this.#cur + 1) % n;
        tried++;
        continue;
      }
      // Converting copies the sample out, so the end of a batch can be published right away.
      let v: U | typeof SKIP = SKIP;
      try {
        if (k === TAKEN.SAMPLE) v = convert(r.takenBytes, r.takenOffset, r.takenSize);
      } finally {
        if (r.batchDone) {
          r.commit();
          if (n > 1) this.#cur = (this.#cur + 1) % n;
        }
      }
      if (k === TAKEN.LOST) return { type: "lost", cpu: r.cpu, count: r.takenLost };
      if (v !== SKIP) return { type: "sample", cpu: r.cpu, data: v };
      tried = 0;
    }
    return NONE;
  }

  #decode<U>(layout: Layout<U, never, unknown>, bytes: Uint8Array, off: number, size: number): U | typeof SKIP {
    if (size < layout.size) {
      if (this.#skipShort) {
        this.#skipped++;
        return SKIP;
      }
      throw new TsbpfError("SHORT_RECORD", `${this.#label}: sample of ${size} bytes is shorter than the layout (${layout.size} bytes)`);
    }
    return layout.decode(bytes, off);
  }

  /* ---------- shutdown ---------- */

  /**
   * Stop reading: iterations end, listeners resolve, the map slots set by this reader are cleared, poll
   * handles close, rings are unmapped and the perf events closed. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closedExplicitly(this);
    this.#listening?.();
    this.#readiness?.close();
    try {
      closeRings(this.#rings, this.#mapFd);
    } finally {
      this.#claim.release();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** What a reader collected unclosed releases: its poll handles first, then the rest as close() does. */
function releaseRings(handles: readonly PollHandle[], rings: readonly PerfRing[], mapFd: Fd, claim: ConsumerClaim): () => void {
  return () => {
    for (const h of handles) h.close();
    try {
      closeRings(rings, mapFd);
    } finally {
      claim.release(); // a collected reader's slots can be read again
    }
  };
}

/** Clear the map slots a reader set, unmap its rings, close the events and its map fd (after its poll handles closed). */
function closeRings(rings: readonly PerfRing[], mapFd: Fd | undefined): void {
  let first: unknown;
  for (const r of rings) {
    try {
      if (mapFd && !mapFd.closed) mapDelete(mapFd, u32(r.cpu));
    } catch {
      // the slot may already hold another reader's event
    }
    try {
      r.close();
    } catch (e) {
      first ??= e;
    }
  }
  mapFd?.close();
  if (first !== undefined) throw first;
}
