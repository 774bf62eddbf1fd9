// EventIterator/BatchIterator over a scripted pull source (no kernel): order, waiting, close, break,
// errors, and that a failed take ends the iteration after publishing what was taken.

import { test } from "node:test";
import assert from "node:assert/strict";
import { BatchIterator, EventIterator, NONE, type PullSource } from "../../src/runtime/events/iterator.js";

/** A source fed by push(); wait() resolves at the next push or close. */
class Script implements PullSource<number> {
  queue: number[] = [];
  closed = false;
  released = 0;
  waits = 0;
  failAt: number | undefined;
  #wake: (() => void) | undefined;
  take(): number | typeof NONE {
    const v = this.queue.shift();
    if (v === undefined) return NONE;
    if (v === this.failAt) throw new Error(`bad record ${v}`);
    return v;
  }
  idle(): boolean {
    return this.queue.length === 0;
  }
  wait(): Promise<void> {
    this.waits++;
    return new Promise((r) => (this.#wake = r));
  }
  release(): void {
    this.released++;
  }
  push(...xs: number[]): void {
    this.queue.push(...xs);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  close(): void {
    this.closed = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test("records come out in order; an empty source waits; close ends the iteration", async () => {
  const s = new Script();
  s.push(1, 2);
  const got: number[] = [];
  const done = (async () => {
    for await (const v of new EventIterator(s)) got.push(v);
  })();
  await tick();
  assert.deepEqual(got, [1, 2]);
  assert.equal(s.waits, 1, "sleeping, not spinning");
  s.push(3);
  await tick();
  assert.deepEqual(got, [1, 2, 3]);
  s.close();
  await done;
  assert.equal(s.released, 0, "closing is not a release");
});

test("break releases (publishes what was taken) and the iterator stays done", async () => {
  const s = new Script();
  s.push(1, 2, 3);
  const it = new EventIterator(s);
  for await (const v of it) if (v === 2) break;
  assert.equal(s.released, 1);
  assert.deepEqual(s.queue, [3], "the rest stays in the source");
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("a failing take rejects next(), releases, and ends the iteration", async () => {
  const s = new Script();
  s.failAt = 2;
  s.push(1, 2, 3);
  const it = new EventIterator(s);
  assert.deepEqual(await it.next(), { value: 1, done: false });
  await assert.rejects(it.next(), /bad record 2/);
  assert.equal(s.released, 1);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("batches: arrays of at most max, one wait per empty period", async () => {
  const s = new Script();
  s.push(1, 2, 3, 4, 5);
  const it = new BatchIterator(s, 2);
  assert.deepEqual((await it.next()).value, [1, 2]);
  assert.deepEqual((await it.next()).value, [3, 4]);
  assert.deepEqual((await it.next()).value, [5]);
  const pending = it.next();
  await tick();
  s.push(6);
  assert.deepEqual((await pending).value, [6]);
  const last = it.next();
  s.close();
  assert.deepEqual(await last, { value: undefined, done: true });
});
