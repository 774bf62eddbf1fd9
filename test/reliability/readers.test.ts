// One consumer per ring (tsbpf issue 11): a second ring or perf buffer reader on the same map is refused
// in-process (matched by the kernel map id, so a map opened twice is caught too), and a ring whose
// consumer position is moved by someone else (a raw mapping, another process) makes the reader stop
// with a typed error without publishing — the kernel can always reserve again once that consumer is gone.
// Records carry a sequence number: every test checks each is delivered exactly once, in order.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ConsumerConflictError } from "../../src/errors.js";
import type { Collection } from "../../src/runtime/collection.js";
import { BpfMap } from "../../src/runtime/map.js";
import { PerfBufReader } from "../../src/runtime/perfbuf.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { mapLookup } from "../../src/sys/bpf.js";
import { MAP, PROT } from "../../src/sys/constants.js";
import { sys } from "../../src/sys/seam.js";
import { onlineCpus, pageSize } from "../../src/sys/system.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";
import { Event, PACKET, counter, eventOk, loadEvents, resetCounters } from "../kernel/events-common.js";

const RB_A_SIZE = 64 * 1024;
const RECORD_SPACE = 16 + 8; // struct event + ring header
const PIN = `/sys/fs/bpf/tsbpf-readers-${process.pid}`;
const twoCpus = () => (onlineCpus().length < 2 ? "needs two online CPUs" : undefined);

/** The typed refusal of a second reader on `map`. */
function refused(code: string, map: string) {
  return (e: unknown) => {
    if (!(e instanceof ConsumerConflictError)) assert.fail(`a ConsumerConflictError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.map, map);
    assert.match(e.message, new RegExp(`"${map}"`));
    return true;
  };
}

/**
 * A consumer outside any reader: its own fd of the ring (opened from the pin) with the consumer page
 * mapped read-write and the producer page read-only — what another process's consumer does.
 */
class ForeignConsumer implements Disposable {
  readonly map = BpfMap.openPinned(PIN, "rb_a");
  readonly #cons = sys().mmap(this.map.fd.value, pageSize(), PROT.READ | PROT.WRITE, MAP.SHARED, 0);
  readonly #prod = sys().mmap(this.map.fd.value, pageSize(), PROT.READ, MAP.SHARED, pageSize());
  get consumer(): bigint {
    return Atomics.load(new BigUint64Array(this.#cons, 0, 1), 0);
  }
  get producer(): bigint {
    return Atomics.load(new BigUint64Array(this.#prod, 0, 1), 0);
  }
  /** Consume everything committed (records are not read, only the position is published). */
  consumeAll(): void {
    Atomics.store(new BigUint64Array(this.#cons, 0, 1), 0, this.producer);
  }
  [Symbol.dispose](): void {
    sys().munmap(this.#cons);
    sys().munmap(this.#prod);
    this.map.close();
  }
}

describe("one consumer per ring buffer", privileged(), () => {
  let coll: Collection;
  const runA = (repeat: number) => coll.program("rb_a_one").testRun({ data: PACKET, repeat });
  /** Sequence numbers of what `reader` delivers now, each record checked. */
  const seqs = (reader: { drain(fn: (record: Uint8Array) => void, limit?: number): number }, limit = Infinity): number[] => {
    const out: number[] = [];
    reader.drain((b) => {
      const ev = Event.decode(b);
      assert.ok(eventOk(ev, ev.seq, 1), `record ${ev.seq} intact`);
      out.push(ev.seq);
    }, limit);
    return out;
  };
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  /** The kernel accepts new records (the ring is not wedged): `n` reserves, none refused. */
  const reservesWork = (n: number) => {
    const before = counter(coll, "drops_a");
    runA(n);
    assert.equal(counter(coll, "drops_a") - before, 0, `the kernel refused ${counter(coll, "drops_a") - before} of ${n} reserves`);
  };

  before(async () => {
    coll = await loadEvents();
    coll.map("rb_a").pin(PIN);
  });
  after(() => {
    coll?.map("rb_a").unpin();
    coll?.close();
  });

  test("a second reader of the same ring is refused (same object, collection, map opened again from its pin); the first delivers every record once, in order, across wraps", () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    const again = BpfMap.openPinned(PIN, "rb_a");
    try {
      const got: number[] = [];
      for (let round = 0; round < 6; round++) {
        runA(2000); // 6 × 2000 records of 24 bytes: the 64 KiB ring wraps 4 times
        assert.throws(() => new RingBufReader(coll.map("rb_a")), refused("RINGBUF_READER_EXISTS", "rb_a"));
        assert.throws(() => coll.ringbuf("rb_a"), refused("RINGBUF_READER_EXISTS", "rb_a"));
        assert.throws(() => new RingBufReader(again), refused("RINGBUF_READER_EXISTS", "rb_a"));
        assert.throws(() => new RingBufReader().add(again), refused("RINGBUF_READER_EXISTS", "rb_a"));
        got.push(...seqs(reader));
      }
      assert.deepEqual(got, range(0, 12_000));
      assert.equal(counter(coll, "drops_a"), 0);
      assert.match(
        (() => {
          try {
            new RingBufReader(again);
          } catch (e) {
            return (e as Error).message;
          }
          return "";
        })(),
        /close the first reader|share it/i,
      );
    } finally {
      again.close();
    }
  });

  test("after the first reader closes, a new one (even through another fd of the map) continues exactly where it stopped", () => {
    resetCounters(coll);
    runA(1000);
    const first = new RingBufReader(coll.map("rb_a"));
    const got = seqs(first, 700);
    first.close();
    const again = BpfMap.openPinned(PIN, "rb_a");
    try {
      using second = new RingBufReader(again);
      got.push(...seqs(second));
      runA(2000);
      got.push(...seqs(second));
      runA(1000); // past the end of the ring: the second reader's position wraps too
      got.push(...seqs(second));
      assert.deepEqual(got, range(0, 4000));
      assert.equal(counter(coll, "drops_a"), 0);
    } finally {
      again.close();
    }
    using third = coll.ringbuf("rb_a");
    assert.equal(third.pending, 0, "the closed readers published everything they delivered");
  });

  test("a foreign consumer moving the position: the reader stops with RINGBUF_CONCURRENT_CONSUMER (drain, iteration, listen) and never publishes; the ring keeps working", async () => {
    resetCounters(coll);
    using foreign = new ForeignConsumer();
    const reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(1000);
    assert.deepEqual(seqs(reader, 400), range(0, 400));
    foreign.consumeAll();
    const moved = foreign.consumer;
    assert.throws(() => reader.drain(), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.equal(foreign.consumer, moved, "the reader did not publish");
    // It stays stopped, whichever way it is consumed.
    runA(10);
    assert.throws(() => reader.drain(), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    await assert.rejects(async () => {
      for await (const _ of reader) assert.fail("no record after the interference");
    }, refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    await assert.rejects(reader.listen(() => assert.fail("no record")), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.equal(foreign.consumer, moved, "still not published");
    reader.close(); // already reported: closing does not throw again, and publishes nothing
    assert.equal(foreign.consumer, moved);
    // The foreign consumer takes the 10 records, goes away; the kernel reserves; a new reader reads on.
    foreign.consumeAll();
    reservesWork(100);
    using next = new RingBufReader(coll.map("rb_a"));
    assert.deepEqual(seqs(next), range(1010, 1110));
  });

  test("interference first seen when the reader closes (records taken, not yet published): close() reports it, publishes nothing and releases the ring", async () => {
    resetCounters(coll);
    using foreign = new ForeignConsumer();
    const reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(100);
    const it = reader[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    if (!first.done) assert.equal(first.value.seq, 0);
    foreign.consumeAll();
    const moved = foreign.consumer;
    assert.throws(() => reader.close(), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.equal(reader.closed, true);
    assert.equal(foreign.consumer, moved, "nothing published");
    runA(5);
    using next = new RingBufReader(coll.map("rb_a"), { layout: Event });
    assert.deepEqual(seqs(next), range(100, 105));
  });

  test("a reader left idle while a foreign consumer read the ring reports it when closed", () => {
    resetCounters(coll);
    using foreign = new ForeignConsumer();
    const reader = new RingBufReader(coll.map("rb_a"));
    runA(50);
    foreign.consumeAll();
    const moved = foreign.consumer;
    assert.throws(() => reader.close(), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.equal(foreign.consumer, moved);
    using next = new RingBufReader(coll.map("rb_a"));
    assert.equal(next.pending, 0);
  });

  test("a reader that lags behind a foreign consumer across wraps reads no stale header and publishes no bogus position: the kernel can still reserve", () => {
    resetCounters(coll);
    using foreign = new ForeignConsumer();
    const reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    const start = foreign.consumer;
    // The foreign consumer keeps up; the reader does not look until the ring has wrapped 3 times.
    for (let i = 0; i < 6; i++) {
      runA(2000);
      foreign.consumeAll();
    }
    assert.ok(foreign.producer - start > 3n * BigInt(RB_A_SIZE), "wrapped");
    const moved = foreign.consumer;
    const delivered: number[] = [];
    assert.throws(() => reader.drain((b) => delivered.push(Event.decode(b).seq)), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.deepEqual(delivered, [], "nothing stale delivered");
    assert.equal(foreign.consumer, moved, "nothing published");
    reader.close();
    assert.equal(foreign.consumer, moved);
    assert.equal(counter(coll, "drops_a"), 0);
    reservesWork(Math.floor(RB_A_SIZE / RECORD_SPACE) - 1); // a full ring's worth: nothing wedged
    foreign.consumeAll();
  });

  test("a second reader in another process: the first stops with RINGBUF_CONCURRENT_CONSUMER, publishes nothing; once it is gone a new reader continues", () => {
    resetCounters(coll);
    using foreign = new ForeignConsumer(); // only to observe the positions
    const reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(1000);
    assert.deepEqual(seqs(reader, 300), range(0, 300));
    const child = execFileSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/reliability/readers-child.ts"), PIN], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(child.trim(), "700", "the child consumed the rest");
    const childPos = foreign.consumer;
    assert.equal(childPos, foreign.producer);
    runA(2000); // wraps over what the first reader would read next
    assert.throws(() => reader.drain(), refused("RINGBUF_CONCURRENT_CONSUMER", "rb_a"));
    assert.equal(foreign.consumer, childPos, "the first reader published nothing");
    reader.close();
    using next = new RingBufReader(coll.map("rb_a"), { layout: Event });
    assert.deepEqual(seqs(next), range(1000, 3000));
    reservesWork(Math.floor(RB_A_SIZE / RECORD_SPACE) - 1);
    next.drain();
  });
});

describe("one reader per perf event array slot", privileged(), () => {
  let coll: Collection;
  const emit = (repeat: number) => coll.program("pb_one").testRun({ data: PACKET, repeat });
  /** Samples waiting now, as sequence numbers per CPU. */
  const samples = (reader: PerfBufReader) => {
    const byCpu = new Map<number, number[]>();
    let lost = 0;
    reader.drain(
      (b, cpu) => {
        const ev = Event.decode(b);
        assert.ok(eventOk(ev, ev.seq, 3), `sample ${ev.seq} intact`);
        byCpu.set(cpu, [...(byCpu.get(cpu) ?? []), ev.seq]);
      },
      (n) => (lost += n),
    );
    return { byCpu, lost, all: [...byCpu.values()].flat().sort((a, b) => a - b) };
  };
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  before(async () => {
    coll = await loadEvents();
    coll.map("pb").pin(`${PIN}-pb`);
  });
  after(() => {
    coll?.map("pb").unpin();
    coll?.close();
  });

  test("a second reader of the same map is refused (same object, collection, map opened again); the first keeps receiving every sample once, in order per CPU", () => {
    resetCounters(coll);
    using first = new PerfBufReader(coll.map("pb"), { pages: 64 });
    const again = BpfMap.openPinned(`${PIN}-pb`, "pb");
    try {
      assert.throws(() => new PerfBufReader(coll.map("pb")), refused("PERFBUF_READER_EXISTS", "pb"));
      assert.throws(() => coll.perfbuf("pb"), refused("PERFBUF_READER_EXISTS", "pb"));
      assert.throws(() => new PerfBufReader(again), refused("PERFBUF_READER_EXISTS", "pb"));
    } finally {
      again.close();
    }
    emit(500);
    const got = samples(first);
    assert.equal(got.lost, 0);
    assert.equal(counter(coll, "drops_p"), 0);
    assert.deepEqual(got.all, range(0, 500), "each sample exactly once");
    for (const [cpu, s] of got.byCpu) assert.deepEqual(s, [...s].sort((a, b) => a - b), `in order on cpu ${cpu}`);
  });

  test("closing the first reader lets a new one take the slots", () => {
    resetCounters(coll);
    const first = new PerfBufReader(coll.map("pb"));
    first.close();
    using second = coll.perfbuf("pb");
    emit(100);
    assert.deepEqual(samples(second).all, range(0, 100));
  });

  test("readers of disjoint CPUs of one map coexist; a reader of a CPU already read is refused", privileged(twoCpus), () => {
    using a = new PerfBufReader(coll.map("pb"), { cpus: [0] });
    using b = new PerfBufReader(coll.map("pb"), { cpus: [1] });
    assert.deepEqual([a.cpus, b.cpus], [[0], [1]]);
    assert.throws(() => new PerfBufReader(coll.map("pb"), { cpus: [1] }), (e: unknown) => refused("PERFBUF_READER_EXISTS", "pb")(e) && /cpu 1\b/.test((e as Error).message));
  });

  test("another process's reader cannot be detected: the kernel refuses to read a perf event array slot from user space (ENOTSUPP)", () => {
    using reader = new PerfBufReader(coll.map("pb"), { cpus: [0] });
    assert.throws(() => mapLookup(coll.map("pb").fd, new Uint8Array(4), new Uint8Array(4)), { errno: 524 });
    assert.equal(reader.cpus.length, 1);
  });
});
