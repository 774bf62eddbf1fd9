// Ring buffer reader against real rings fed by BPF_PROG_TEST_RUN: every record arrives once, in order,
// through each consumption form (async iteration, batches, callbacks, several rings); overflow drops exactly.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Collection } from "../../src/runtime/collection.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { bytes, struct } from "../../src/types/index.js";
import { sleep } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { Event, PACKET, counter, eventOk, loadEvents, produceInChild, resetCounters, type EventValue } from "./events-common.js";

const RECORD_SPACE = 16 + 8; // struct event + ring header
const RB_A_SIZE = 64 * 1024;
const RB_B_SIZE = 4096;

describe("ring buffer events", privileged(), () => {
  let coll: Collection;
  const runA = (repeat: number) => coll.program("rb_a_one").testRun({ data: PACKET, repeat });
  const runB = (repeat: number) => coll.program("rb_b_one").testRun({ data: PACKET, repeat });
  const loopA = (n: number) => {
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, n, true);
    return coll.program("rb_a_loop").testRun({ ctx, ctxOutSize: 0 }).retval;
  };

  before(async () => {
    coll = await loadEvents();
  });
  after(() => coll?.close());

  test("20000 records produced in chunks arrive through coll.ringbuf() in order with exact contents", async () => {
    resetCounters(coll);
    const N = 20_000;
    const CHUNK = 2_000; // fits in the 64 KiB ring (2730 records)
    const events = coll.ringbuf("rb_a", Event);
    let next = 0;
    let produced = 0;
    const bad: string[] = [];
    while (produced < N) {
      // Alternate: the chunk goes in (one bpf_loop run or XDP repeats), then the iterator takes it out.
      if ((produced / CHUNK) % 2 === 0) assert.equal(loopA(CHUNK), CHUNK);
      else runA(CHUNK);
      produced += CHUNK;
      for await (const ev of events) {
        if (!eventOk(ev, next, 1) && bad.length < 5) bad.push(`record ${next}: ${JSON.stringify(ev, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`);
        next++;
        if (next === produced) break;
      }
    }
    assert.deepEqual(bad, []);
    assert.equal(next, N);
    assert.equal(counter(coll, "drops_a"), 0, "nothing dropped");
    assert.equal(events.pending, 0, "break committed everything taken");
    assert.equal(events.stats.records, N);
    assert.ok(events.stats.commits >= N / CHUNK, "committed per batch");
    assert.ok(events.stats.commits < N / 10, `not per record (${events.stats.commits} commits)`);
    events.close();
  });

  test("a concurrent producer (another process) feeding a waiting reader: received + program-counted drops = produced, no gaps", async () => {
    resetCounters(coll);
    const RUNS = 50;
    const REPEAT = 1000;
    using reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    const got: number[] = [];
    let outOfOrder = 0;
    const consuming = (async () => {
      for await (const ev of reader) {
        if (ev.seq !== got.length) outOfOrder++;
        got.push(ev.seq);
      }
    })();
    await produceInChild(coll, "rb_a_one", RUNS, REPEAT);
    const produced = RUNS * REPEAT;
    const deadline = Date.now() + 5000;
    while (got.length + counter(coll, "drops_a") < produced && Date.now() < deadline) await sleep(5);
    const drops = counter(coll, "drops_a");
    assert.equal(got.length + drops, produced, `received ${got.length} + dropped ${drops}`);
    // seq is taken only after a successful reserve, so what arrives is exactly 0..received-1, in order.
    assert.equal(outOfOrder, 0);
    assert.equal(counter(coll, "seq_a"), got.length);
    assert.ok(reader.stats.wakeups > 0, "woken by the loop, not by polling");
    reader.close();
    await consuming;
  });

  test("overflow: a 4 KiB ring takes exactly what fits; the drops the program counted are the rest", () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_b"));
    const fits = Math.floor(RB_B_SIZE / RECORD_SPACE); // 170
    runB(500);
    assert.equal(counter(coll, "drops_b"), 500 - fits);
    assert.equal(reader.pending, fits * RECORD_SPACE);
    const seqs: number[] = [];
    assert.equal(reader.drain((r) => seqs.push(Event.decode(r).seq)), fits);
    assert.deepEqual(seqs, Array.from({ length: fits }, (_, i) => i));
    // Room again: the next records carry on from where the successful reserves stopped.
    runB(3);
    const more: number[] = [];
    reader.drain((r) => more.push(Event.decode(r).seq));
    assert.deepEqual(more, [fits, fits + 1, fits + 2]);
    assert.equal(counter(coll, "drops_b"), 500 - fits, "no new drops");
  });

  test("overflow with a slow async consumer: each batch is released once taken, drops are exact, no gaps", async () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_b"), { layout: Event });
    const fits = Math.floor(RB_B_SIZE / RECORD_SPACE);
    const seqs: number[] = [];
    const it = reader[Symbol.asyncIterator]();
    for (let round = 0; round < 10; round++) {
      runB(300); // more than fits while the consumer dawdles
      for (let i = 0; i < fits; i++) {
        const r = await it.next();
        assert.equal(r.done, false);
        seqs.push((r.value as EventValue).seq);
        if (i % 20 === 0) await sleep(1);
      }
      assert.equal(reader.pending, 0, `round ${round}: the batch was published when its last record was taken`);
    }
    await it.return!();
    assert.equal(counter(coll, "drops_b"), 10 * (300 - fits));
    assert.deepEqual(seqs, Array.from({ length: 10 * fits }, (_, i) => i));
  });

  test("several rings in one reader: each ring's records in order; handlers get their own ring", async () => {
    resetCounters(coll);
    using both = new RingBufReader([coll.map("rb_a"), coll.map("rb_b")], { layout: Event });
    assert.deepEqual(both.maps, ["rb_a", "rb_b"]);
    runA(300);
    runB(100);
    const order: number[] = [];
    const perTag = new Map<number, number[]>([[1, []], [2, []]]);
    for await (const ev of both) {
      order.push(ev.tag);
      perTag.get(ev.tag)!.push(ev.seq);
      if (order.length === 400) break;
    }
    assert.deepEqual(perTag.get(1), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(perTag.get(2), Array.from({ length: 100 }, (_, i) => i));
    both.close();

    // libbpf-style: a handler per ring, driven by listen().
    resetCounters(coll);
    const a: number[] = [];
    const b: number[] = [];
    const reader = new RingBufReader();
    reader.add(coll.map("rb_a"), (r) => a.push(Event.decode(r).seq));
    reader.add(coll.map("rb_b"), (r) => b.push(Event.decode(r).seq));
    assert.throws(() => reader.add(coll.map("rb_a")), { code: "EEXIST" });
    const done = reader.listen(() => assert.fail("every ring has its own handler"));
    for (let i = 0; i < 5; i++) {
      runA(40);
      runB(20);
      await sleep(5);
    }
    const ok = await waitUntil(() => a.length === 200 && b.length === 100);
    assert.ok(ok, `a=${a.length} b=${b.length}`);
    assert.deepEqual(a, Array.from({ length: 200 }, (_, i) => i));
    assert.deepEqual(b, Array.from({ length: 100 }, (_, i) => i));
    reader.close();
    await done;
  });

  test("callback form: listen() decodes with the layout, is woken by the loop, resolves on close", async () => {
    resetCounters(coll);
    const reader = coll.ringbuf("rb_a", Event);
    const seen: number[] = [];
    const done = reader.listen((ev) => {
      assert.ok(eventOk(ev, seen.length, 1));
      seen.push(ev.seq);
    });
    await assert.rejects(reader.listen(() => {}), { code: "BUSY" });
    for (let i = 0; i < 10; i++) {
      runA(100);
      await sleep(2);
    }
    assert.ok(await waitUntil(() => seen.length === 1000), `got ${seen.length}`);
    reader.close();
    await done;
    assert.ok(reader.stats.wakeups >= 1);
  });

  test("a throwing callback rejects listen(); the failing record counts as delivered and reading can go on", async () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(10);
    let calls = 0;
    await assert.rejects(
      reader.listen((ev) => {
        calls++;
        if (ev.seq === 3) throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(calls, 4);
    const rest: number[] = [];
    reader.drain((r) => rest.push(Event.decode(r).seq));
    assert.deepEqual(rest, [4, 5, 6, 7, 8, 9]);
  });

  test("batches(): one array per batch, in order; drainAt() reads in place without copies", async () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(1000);
    const seqs: number[] = [];
    let arrays = 0;
    for await (const batch of reader.batches(256)) {
      arrays++;
      for (const ev of batch) seqs.push(ev.seq);
      if (seqs.length === 1000) break;
    }
    assert.deepEqual(seqs, Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(arrays, 4, "batches of at most 256");

    runA(50);
    let sum = 0;
    let views = 0;
    const n = reader.drainAt((bytes, off, size) => {
      assert.equal(size, 16);
      sum += new DataView(bytes.buffer, bytes.byteOffset).getUint32(off, true);
      views++;
    });
    assert.equal(n, 50);
    assert.equal(views, 50);
    assert.equal(sum, Array.from({ length: 50 }, (_, i) => 1000 + i).reduce((x, y) => x + y));
  });

  test("break leaves the records not yet handed out in the ring for the next iteration", async () => {
    resetCounters(coll);
    using reader = new RingBufReader(coll.map("rb_a"), { layout: Event });
    runA(100);
    const first: number[] = [];
    for await (const ev of reader) {
      first.push(ev.seq);
      if (first.length === 30) break;
    }
    assert.equal(reader.pending, 70 * RECORD_SPACE);
    const rest: number[] = [];
    for await (const ev of reader.records(Event)) {
      rest.push(ev.seq);
      if (rest.length === 70) break;
    }
    assert.deepEqual([...first, ...rest], Array.from({ length: 100 }, (_, i) => i));
  });

  test("short records: thrown as SHORT_RECORD by default, skipped and counted with shortRecords: 'skip'", async () => {
    resetCounters(coll);
    const Big = struct({ head: Event, more: bytes(48) }); // a layout longer than the records
    const strict = new RingBufReader(coll.map("rb_a"), { layout: Big });
    runA(2);
    await assert.rejects(async () => {
      for await (const _ of strict) break;
    }, { code: "SHORT_RECORD" });
    strict.close();
    using lenient = new RingBufReader(coll.map("rb_a"), { layout: Big, shortRecords: "skip" });
    runA(3);
    assert.equal(await Promise.race([lenient[Symbol.asyncIterator]().next().then(() => "record"), sleep(50).then(() => "none")]), "none");
    assert.equal(lenient.stats.skipped, 4, "the one left over by the strict reader and the three new ones");
  });
});

async function waitUntil(fn: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!fn() && Date.now() < deadline) await sleep(5);
  return fn();
}
