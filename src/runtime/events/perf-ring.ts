// One CPU's perf ring for a BPF perf event array: a PERF_COUNT_SW_BPF_OUTPUT event mmap'd (metadata
// page + 2^n data pages), read in place (records that wrap the ring's end are copied), tail committed per batch.

import { TsbpfError } from "../../errors.js";
import { MAP, PERF_COUNT_SW, PERF_RECORD, PERF_SAMPLE, PERF_TYPE, PROT } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import { perfEventEnable, perfEventOpen } from "../../sys/perf.js";
import { sys } from "../../sys/seam.js";

/** Offsets in struct perf_event_mmap_page. */
const DATA_HEAD = 1024;
const DATA_TAIL = 1032;
const DATA_OFFSET = 1040;
const DATA_SIZE = 1048;

/** What {@link PerfRing.take} found. */
export const TAKEN = { NONE: 0, SAMPLE: 1, LOST: 2 } as const;

/** Counters of one perf ring (or a reader's rings together). */
export interface PerfStats {
  /** Samples delivered. */
  samples: number;
  /** Samples the kernel could not write because the ring was full (sum of its LOST records). */
  lost: number;
  /** LOST records seen. */
  lostRecords: number;
  /** Raw sample bytes delivered. */
  bytes: number;
  /** Records of other types skipped. */
  other: number;
  /** Times the tail was committed (one per batch). */
  commits: number;
}

/** How the per-CPU events are opened. */
export interface PerfRingConfig {
  /** Data pages (a power of 2). */
  readonly pages: number;
  /** Wake the reader up every `wakeupEvents` samples (ignored when wakeupWatermark is set). */
  readonly wakeupEvents: number;
  /** Wake the reader up when this many bytes are waiting. */
  readonly wakeupWatermark?: number;
}

/** A perf ring of one CPU. Owns its perf event fd and mapping. */
export class PerfRing {
  readonly cpu: number;
  readonly fd: Fd;
  readonly stats: PerfStats = { samples: 0, lost: 0, lostRecords: 0, bytes: 0, other: 0, commits: 0 };
  readonly #mmap: ArrayBuffer;
  readonly #head: BigUint64Array;
  readonly #tail: BigUint64Array;
  readonly #data: Uint8Array;
  readonly #dv: DataView;
  readonly #size: number;
  readonly #mask: number;
  #scratch = new Uint8Array(256);
  #scratchView = new DataView(this.#scratch.buffer);
  #pos: number;
  #committed: number;
  #batchEnd: number;
  #closed = false;
  /** Where the last taken sample's bytes are: the ring's data area or the scratch copy (wrapped record). */
  takenBytes: Uint8Array;
  takenOffset = 0;
  takenSize = 0;
  /** Count of the last taken LOST record. */
  takenLost = 0;

  constructor(cpu: number, config: PerfRingConfig, page: number) {
    this.cpu = cpu;
    const watermark = config.wakeupWatermark;
    this.fd = perfEventOpen(
      {
        type: PERF_TYPE.SOFTWARE,
        config: PERF_COUNT_SW.BPF_OUTPUT,
        sampleType: PERF_SAMPLE.RAW,
        samplePeriod: 1,
        ...(watermark !== undefined ? { wakeupWatermark: watermark } : { wakeupEvents: config.wakeupEvents }),
      },
      -1,
      cpu,
    );
    try {
      this.#mmap = sys().mmap(this.fd.value, (1 + config.pages) * page, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
    } catch (e) {
      this.fd.close();
      throw new TsbpfError("MMAP_FAILED", `perf buffer: mmap of the cpu ${cpu} ring (${config.pages} pages) failed: ${(e as Error).message}`, { cause: e });
    }
    const meta = new DataView(this.#mmap, 0, page);
    // data_offset/data_size exist since Linux 4.1; before, data starts at the second page.
    let offset = Number(meta.getBigUint64(DATA_OFFSET, true));
    let size = Number(meta.getBigUint64(DATA_SIZE, true));
    if (offset === 0 || size === 0) {
      offset = page;
      size = config.pages * page;
    }
    this.#size = size;
    this.#mask = size - 1;
    this.#head = new BigUint64Array(this.#mmap, DATA_HEAD, 1);
    this.#tail = new BigUint64Array(this.#mmap, DATA_TAIL, 1);
    this.#data = new Uint8Array(this.#mmap, offset, size);
    this.#dv = new DataView(this.#mmap, offset, size);
    this.#pos = Number(Atomics.load(this.#tail, 0));
    this.#committed = this.#pos;
    this.#batchEnd = this.#pos;
    this.takenBytes = this.#data;
  }

  /** Start producing (after the fd is in the perf event array). */
  enable(): void {
    perfEventEnable(this.fd);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written by the kernel and not yet consumed. */
  get pending(): number {
    if (this.#closed) return 0;
    return Number(Atomics.load(this.#head, 0)) - this.#committed;
  }

  /** True when a record is waiting. */
  ready(): boolean {
    if (this.#closed) return false;
    this.commit();
    return Number(Atomics.load(this.#head, 0)) > this.#pos;
  }

  /** Publish the tail (once per batch): the kernel may overwrite the space from here on. */
  commit(): void {
    if (this.#pos !== this.#committed && !this.#closed) {
      Atomics.store(this.#tail, 0, BigInt(this.#pos));
      this.#committed = this.#pos;
      this.stats.commits++;
    }
  }

  /**
   * Take the next record: TAKEN.SAMPLE (bytes in takenBytes/takenOffset/takenSize, valid until the
   * next take), TAKEN.LOST (count in takenLost) or TAKEN.NONE. Commits when a batch is used up.
   */
  take(): number {
    if (this.#closed) return TAKEN.NONE;
    for (;;) {
      if (this.#pos >= this.#batchEnd) {
        this.commit();
        this.#batchEnd = Number(Atomics.load(this.#head, 0));
        if (this.#pos >= this.#batchEnd) return TAKEN.NONE;
      }
      const off = this.#pos & this.#mask;
      const dv = this.#dv;
      const type = dv.getUint32(off, true);
      const size = dv.getUint16(off + 6, true);
      if (size < 8 || this.#pos + size > this.#batchEnd) {
        // Corrupt header: the kernel never writes this. Resynchronise at the head rather than loop.
        this.stats.other++;
        this.#pos = this.#batchEnd;
        continue;
      }
      this.#pos += size;
      let bytes = this.#data;
      let view = dv;
      let at = off;
      if (off + size > this.#size) {
        // The record wraps around the end of the ring: copy it out whole.
        if (this.#scratch.byteLength < size) {
          this.#scratch = new Uint8Array(Math.max(size, this.#scratch.byteLength * 2));
          this.#scratchView = new DataView(this.#scratch.buffer);
        }
        const first = this.#size - off;
        this.#scratch.set(this.#data.subarray(off, this.#size), 0);
        this.#scratch.set(this.#data.subarray(0, size - first), first);
        bytes = this.#scratch;
        view = this.#scratchView;
        at = 0;
      }
      if (type === PERF_RECORD.SAMPLE) {
        const raw = view.getUint32(at + 8, true);
        const len = Math.min(raw, size - 12);
        this.takenBytes = bytes;
        this.takenOffset = at + 12;
        this.takenSize = len;
        this.stats.samples++;
        this.stats.bytes += len;
        return TAKEN.SAMPLE;
      }
      if (type === PERF_RECORD.LOST && size >= 24) {
        const lost = Number(view.getBigUint64(at + 16, true));
        this.takenLost = lost;
        this.stats.lost += lost;
        this.stats.lostRecords++;
        return TAKEN.LOST;
      }
      this.stats.other++;
    }
  }

  /** True when the batch being taken is used up. */
  get batchDone(): boolean {
    return this.#pos >= this.#batchEnd;
  }

  /** Unmap and close the event (the caller closes the poll handle and clears the map slot first). */
  close(): void {
    if (this.#closed) return;
    this.commit();
    this.#closed = true;
    try {
      sys().munmap(this.#mmap);
    } finally {
      this.fd.close();
    }
  }
}
