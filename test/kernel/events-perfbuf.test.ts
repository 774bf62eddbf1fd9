// Perf buffer reader against a real perf event array fed by BPF_PROG_TEST_RUN on chosen CPUs: every
// sample arrives in per-CPU order, lost samples are reported as events with the kernel's exact count.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs";
import { TsbpfError } from "../../src/errors.js";
import type { Collection } from "../../src/runtime/collection.js";
import { PerfBufReader, type PerfEvent } from "../../src/runtime/perfbuf.js";
import { onlineCpus } from "../../src/sys/system.js";
import { sleep } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { Event, PACKET, counter, eventOk, loadEvents, pinCpu, resetCounters, setU32, type EventValue } from "./events-common.js";

const cpus = onlineCpus();
const twoCpus = () => (cpus.length < 2 ? "needs two online CPUs" : undefined);
const SAMPLE_SPACE = 8 + 4 + 20; // perf header + raw size + 16-byte event padded to 20
/** Samples that fit in a one-page ring (the kernel keeps one byte free to tell full from empty). */
const FITS = Math.floor((4096 - 1) / SAMPLE_SPACE); // 127

describe("perf buffer events", privileged(), () => {
  let coll: Collection;
  const emit = (repeat: number) => coll.program("pb_one").testRun({ data: PACKET, repeat });
  /**
   * Until the loop has registered a new reader's rings and the reader has probed them once (two check
   * phases after it started; see Readiness): the probe wakes a waiter for any data present, so samples
   * written before then would wake it regardless of wakeupEvents. A timer that fires late (a loaded
   * machine) can come before the second check phase; one more setImmediate runs after the probe.
   */
  const registered = async () => {
    await sleep(10);
    await new Promise((r) => setImmediate(r));
  };
  const settled = async (p: Promise<unknown>, ms = 60) => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);

  before(async () => {
    coll = await loadEvents();
    pinCpu(0);
  });
  after(() => {
    pinCpu(cpus.join(","));
    coll?.close();
  });

  test("samples produced on two CPUs all arrive, decoded, in order per CPU", privileged(twoCpus), async () => {
    resetCounters(coll);
    const perf = coll.perfbuf("pb", Event, { pages: 64 });
    assert.deepEqual(perf.cpus, cpus);
    pinCpu(0);
    emit(500);
    pinCpu(1);
    emit(300);
    pinCpu(0);
    emit(200);
    const byCpu = new Map<number, EventValue[]>();
    let n = 0;
    for await (const ev of perf) {
      assert.equal(ev.type, "sample");
      if (ev.type !== "sample") break;
      if (!byCpu.has(ev.cpu)) byCpu.set(ev.cpu, []);
      byCpu.get(ev.cpu)!.push(ev.data);
      if (++n === 1000) break;
    }
    const seq0 = byCpu.get(0)!.map((e) => e.seq);
    const seq1 = byCpu.get(1)!.map((e) => e.seq);
    assert.deepEqual(seq0, [...Array.from({ length: 500 }, (_, i) => i), ...Array.from({ length: 200 }, (_, i) => 800 + i)]);
    assert.deepEqual(seq1, Array.from({ length: 300 }, (_, i) => 500 + i));
    assert.ok([...byCpu.values()].flat().every((e) => eventOk(e, e.seq, 3)), "contents intact");
    assert.equal(counter(coll, "drops_p"), 0);
    assert.equal(perf.stats.samples, 1000);
    assert.equal(perf.pending, 0);
    perf.close();
  });

  test("a full ring: the kernel's LOST record comes out as a lost event with the count the program saw fail", async () => {
    resetCounters(coll);
    pinCpu(0);
    using perf = new PerfBufReader(coll.map("pb"), { layout: Event, pages: 1 });
    emit(1000);
    const fits = FITS;
    const failed = counter(coll, "drops_p");
    assert.equal(failed, 1000 - fits);
    const events: PerfEvent<EventValue>[] = [];
    const it = perf[Symbol.asyncIterator]();
    for (let i = 0; i < fits; i++) events.push((await it.next()).value as PerfEvent<EventValue>);
    // The kernel reports the loss with the next record it manages to write.
    emit(1);
    events.push((await it.next()).value as PerfEvent<EventValue>);
    events.push((await it.next()).value as PerfEvent<EventValue>);
    await it.return!();
    const samples = events.filter((e) => e.type === "sample").map((e) => (e.type === "sample" ? e.data.seq : -1));
    assert.deepEqual(samples, [...Array.from({ length: fits }, (_, i) => i), 1000]);
    assert.deepEqual(events[fits], { type: "lost", cpu: 0, count: failed });
    assert.equal(perf.stats.lost, failed);
    assert.equal(perf.stats.lostRecords, 1);
  });

  test("listen(): samples and lost reports through callbacks; resolves on close", async () => {
    resetCounters(coll);
    pinCpu(0);
    const perf = new PerfBufReader(coll.map("pb"), { layout: Event, pages: 1 });
    const seqs: number[] = [];
    let lost = 0;
    const cpusSeen = new Set<number>();
    emit(400); // overflows the 4 KiB ring before anyone reads: listen() starts by draining it
    const done = perf.listen((ev, cpu) => {
      cpusSeen.add(cpu);
      seqs.push(ev.seq);
    }, (count) => (lost += count));
    assert.equal(seqs.length, FITS, "drained at once");
    // Later samples arrive through the loop (written before the loop has registered the rings: the
    // reader's probe after registration stands in for the wake-up epoll loses then).
    emit(10);
    const deadline = Date.now() + 2000;
    while (seqs.length < FITS + 10 && Date.now() < deadline) await sleep(5);
    assert.equal(lost, counter(coll, "drops_p"));
    assert.equal(lost, 400 - FITS);
    assert.equal(seqs.length + lost, 410);
    assert.deepEqual([...cpusSeen], [0]);
    assert.deepEqual(seqs.slice(0, FITS), Array.from({ length: FITS }, (_, i) => i));
    assert.deepEqual(seqs.slice(FITS), Array.from({ length: 10 }, (_, i) => 400 + i));
    assert.ok(perf.stats.wakeups >= 1, "woken through the loop");
    perf.close();
    await done;
  });

  test("a reader started inside an I/O callback still sees a sample written before the loop registered its rings", async () => {
    resetCounters(coll);
    pinCpu(0);
    // Started in the poll phase, the rings are registered with epoll only in the next turn's poll phase;
    // the sample below is written in between (this turn's check phase), where epoll's registration check
    // consumes the perf ring's one-shot readiness flag. It arrives through the reader's own probe.
    for (let round = 0; round < 5; round++) {
      let got = 0;
      let perf!: PerfBufReader;
      await new Promise<void>((resolve) => {
        readFile("/proc/self/stat", () => {
          perf = new PerfBufReader(coll.map("pb"));
          void perf.listen(() => void got++);
          setImmediate(() => {
            emit(1);
            resolve();
          });
        });
      });
      const deadline = Date.now() + 2000;
      while (got < 1 && Date.now() < deadline) await sleep(5);
      perf.close();
      assert.equal(got, 1, `round ${round}: the sample arrived`);
    }
  });

  test("wakeupEvents: the reader sleeps until that many samples are waiting", async () => {
    resetCounters(coll);
    pinCpu(0);
    using perf = new PerfBufReader(coll.map("pb"), { wakeupEvents: 4 });
    const woke = perf.wait();
    await registered(); // from here on only the kernel's wake-ups count
    emit(3);
    assert.equal(await settled(woke), false, "3 samples: no wake-up");
    emit(1);
    assert.equal(await settled(woke, 1000), true, "the 4th sample wakes it");
    assert.equal(await woke, true);
    assert.equal(perf.drain(() => {}), 4);
  });

  test("wakeupWatermark: the reader sleeps until that many bytes are waiting", async () => {
    resetCounters(coll);
    pinCpu(0);
    using perf = new PerfBufReader(coll.map("pb"), { wakeupWatermark: 256 });
    const woke = perf.wait();
    await registered();
    emit(4); // 128 bytes
    assert.equal(await settled(woke), false, "128 bytes: no wake-up");
    emit(8); // 384 bytes
    assert.equal(await settled(woke, 1000), true, "past the watermark");
    assert.equal(perf.drain(() => {}), 12);
  });

  test("samples of different sizes: raw sizes as the kernel pads them, payload intact", () => {
    resetCounters(coll);
    pinCpu(0);
    using perf = new PerfBufReader(coll.map("pb"));
    const sizes: number[] = [];
    const payloads: Uint8Array[] = [];
    for (const extra of [0, 8, 200]) {
      setU32(coll, "extra_len", extra);
      emit(1);
    }
    perf.drain((data) => {
      sizes.push(data.byteLength);
      payloads.push(data.slice());
    });
    assert.deepEqual(sizes, [20, 28, 220]);
    const last = payloads[2];
    assert.ok(eventOk(Event.decode(last), 2, 3));
    assert.deepEqual([...last.subarray(16, 216)], Array.from({ length: 200 }, (_, i) => (2 + i) & 0xff));
  });

  test("records wrapping the ring's end are handed out whole", () => {
    resetCounters(coll);
    pinCpu(0);
    using perf = new PerfBufReader(coll.map("pb"), { layout: Event, pages: 1 });
    setU32(coll, "extra_len", 200); // 8 + 4 + 220 = 232 bytes: does not divide 4096, so records straddle the end
    const seen: number[] = [];
    for (let round = 0; round < 20; round++) {
      emit(7);
      perf.drain((data) => {
        assert.equal(data.byteLength, 220);
        const ev = Event.decode(data);
        assert.ok(eventOk(ev, seen.length, 3));
        assert.deepEqual([...data.subarray(16, 216)], Array.from({ length: 200 }, (_, i) => (ev.seq + i) & 0xff));
        seen.push(ev.seq);
      });
    }
    assert.equal(seen.length, 140);
    assert.equal(counter(coll, "drops_p"), 0);
  });

  test("closing ends the iteration and clears the map slots it set", async () => {
    resetCounters(coll);
    pinCpu(0);
    const perf = coll.perfbuf("pb", Event);
    const it = perf[Symbol.asyncIterator]();
    const next = it.next();
    setTimeout(() => perf.close(), 20);
    assert.deepEqual(await next, { value: undefined, done: true });
    emit(1);
    assert.equal(counter(coll, "drops_p"), 1, "no event in the slot any more");
    assert.equal(counter(coll, "last_perf_err"), -2, "-ENOENT");
  });

  test("bad options and non-perf maps are refused with typed errors", () => {
    const code = (c: string) => (e: unknown) => e instanceof TsbpfError && e.code === c;
    assert.throws(() => new PerfBufReader(coll.map("rb_a")), code("BAD_MAP_TYPE"));
    assert.throws(() => new PerfBufReader(coll.map("pb"), { pages: 3 }), code("INVALID_ARGUMENT"));
    assert.throws(() => new PerfBufReader(coll.map("pb"), { wakeupEvents: 0 }), code("INVALID_ARGUMENT"));
    assert.throws(() => new PerfBufReader(coll.map("pb"), { cpus: [999] }), code("INVALID_ARGUMENT"));
  });
});
