// The async iterator behind ring and perf buffer readers: pulls one record at a time from a source
// that reads in place, sleeps on the loop when it is empty, ends when the reader closes.

/** What an event iterator pulls from (implemented by the ring and perf buffer readers). */
export interface PullSource<T> {
  /** The next record if one is ready now, else `NONE`. May throw (decode errors). */
  take(): T | typeof NONE;
  /** True when nothing is ready and it is safe to sleep (commits what was taken). */
  idle(): boolean;
  /** Resolves at the next readiness (or close); rejects when polling failed. */
  wait(): Promise<void>;
  /** True once the reader is closed. */
  readonly closed: boolean;
  /** The consumer stopped early (break/return): publish the position of what it took. */
  release(): void;
}

/** Marker for "no record ready". */
export const NONE: unique symbol = Symbol("none");

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Async iterator over a pull source. Records come out in order; `break` (return()) keeps the reader
 * open and leaves every record not yet handed out in the ring; closing the reader ends the iteration.
 */
export class EventIterator<T> implements AsyncIterableIterator<T> {
  readonly #src: PullSource<T>;
  #done = false;

  constructor(src: PullSource<T>) {
    this.#src = src;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    try {
      for (;;) {
        if (this.#src.closed) {
          this.#done = true;
          return Promise.resolve(DONE);
        }
        const v = this.#src.take();
        if (v !== NONE) return Promise.resolve({ value: v, done: false });
        if (this.#src.idle()) return this.#src.wait().then(() => this.next(), (e: unknown) => this.#fail(e));
      }
    } catch (e) {
      return this.#fail(e);
    }
  }

  #fail(e: unknown): Promise<never> {
    this.#done = true;
    releaseAfter(this.#src);
    return Promise.reject(e);
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.#done) {
      this.#done = true;
      try {
        if (!this.#src.closed) this.#src.release();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Async iterator over whole batches (arrays) of a pull source: one promise per batch, not per record. */
export class BatchIterator<T> implements AsyncIterableIterator<T[]> {
  readonly #src: PullSource<T>;
  readonly #max: number;
  #done = false;

  constructor(src: PullSource<T>, max: number) {
    this.#src = src;
    this.#max = max;
  }

  next(): Promise<IteratorResult<T[], undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    try {
      for (;;) {
        if (this.#src.closed) {
          this.#done = true;
          return Promise.resolve(DONE);
        }
        const out: T[] = [];
        while (out.length < this.#max) {
          const v = this.#src.take();
          if (v === NONE) break;
          out.push(v);
        }
        if (out.length > 0) return Promise.resolve({ value: out, done: false });
        if (this.#src.idle()) {
          return this.#src.wait().then(() => this.next(), (e: unknown) => {
            this.#done = true;
            return Promise.reject(e);
          });
        }
      }
    } catch (e) {
      this.#done = true;
      releaseAfter(this.#src);
      return Promise.reject(e);
    }
  }

  return(): Promise<IteratorResult<T[], undefined>> {
    if (!this.#done) {
      this.#done = true;
      try {
        if (!this.#src.closed) this.#src.release();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Publish what was taken after the consumer failed with another error: that error is what the
 * consumer sees; a failure of the release itself (another consumer of the ring) stays recorded in the
 * source and is thrown by its next read.
 */
function releaseAfter(src: PullSource<unknown>): void {
  try {
    if (!src.closed) src.release();
  } catch {
    // reported by the next read (see above)
  }
}
