// RingBufReader against real BPF ring buffers: records emitted by test runs arrive complete, in order
// and byte-exact; discarded records are skipped; the ring wraps; a full ring drops; close() ends reads.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { TsbpfError } from "../../src/errors.js";
import { readCollectionSpec } from "../../src/object/reader.js";
import { loadCollection, type Collection } from "../../src/runtime/collection.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { bytes, struct, u32, u64 } from "../../src/types/index.js";
import { compileCSource } from "../helpers/toolchain.js";
import { fileBytes, leUint, readGlobal, sleep, u32 as u32key, writeGlobal } from "../helpers/loader.js";
import { privileged } from "../helpers/privileges.js";
import { needs } from "../helpers/needs.js";

const SOURCE = `// SPDX-License-Identifier: GPL-2.0
/* ringbuf_test.bpf.c: ring buffer producers for test/kernel/ringbuf-reader.test.ts. Every program
 * runs through BPF_PROG_TEST_RUN; each run emits records with a global sequence number. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	__u32 seq;
	__u32 pid;
	__u64 magic;     /* MAGIC ^ seq */
	__u8 payload[16]; /* payload[i] = seq + i */
};

#define MAGIC 0x7473627066000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} small SEC(".maps");

__u32 next_seq;
__u64 dropped;

static __always_inline void emit(void *rb)
{
	struct event e = {};
	__u32 seq = __sync_fetch_and_add(&next_seq, 1);
	int i;

	e.seq = seq;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.magic = MAGIC ^ seq;
	for (i = 0; i < 16; i++)
		e.payload[i] = seq + i;
	if (bpf_ringbuf_output(rb, &e, sizeof(e), 0))
		__sync_fetch_and_add(&dropped, 1);
}

SEC("xdp")
int emit_one(struct xdp_md *ctx)
{
	emit(&events);
	return XDP_PASS;
}

SEC("xdp")
int emit_small(struct xdp_md *ctx)
{
	emit(&small);
	return XDP_PASS;
}

/* Reserve/submit with two record sizes (16 bytes for even seq, 40 for odd); every seq % 4 == 3
 * is reserved and then discarded. */
SEC("xdp")
int emit_reserve(struct xdp_md *ctx)
{
	__u32 seq = __sync_fetch_and_add(&next_seq, 1);

	if (seq & 1) {
		struct { __u32 seq; __u32 kind; __u8 data[32]; } *big;
		int i;

		big = bpf_ringbuf_reserve(&events, sizeof(*big), 0);
		if (!big)
			return XDP_ABORTED;
		big->seq = seq;
		big->kind = 2;
		for (i = 0; i < 32; i++)
			big->data[i] = 0xa0 + i;
		if ((seq & 3) == 3)
			bpf_ringbuf_discard(big, 0);
		else
			bpf_ringbuf_submit(big, 0);
	} else {
		struct { __u32 seq; __u32 kind; __u64 x; } *rec;

		rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
		if (!rec)
			return XDP_ABORTED;
		rec->seq = seq;
		rec->kind = 1;
		rec->x = (__u64)seq * 1000003;
		bpf_ringbuf_submit(rec, 0);
	}
	return XDP_PASS;
}

struct loop_args {
	__u32 n;
};

/* Emits ctx->n records (at most 512) in one run; returns the number emitted. */
SEC("syscall")
int emit_loop(struct loop_args *args)
{
	__u32 n = args->n, i;

	for (i = 0; i < 512 && i < n; i++)
		emit(&events);
	return i;
}

char LICENSE[] SEC("license") = "GPL";
`;

const MAGIC = 0x7473627066000000n;
const Event = struct({ seq: u32, pid: u32, magic: u64, payload: bytes(16) }, { name: "event" });
const EVENT_SIZE = 32;
const RECORD_SPACE = EVENT_SIZE + 8; // header + data, 8-aligned
const PACKET = new Uint8Array(64);

function checkEvent(ev: { seq: number; pid: number; magic: bigint; payload: Uint8Array }, seq: number): void {
  assert.equal(ev.seq, seq, "sequence");
  assert.equal(ev.pid, process.pid, "emitted by this process's test run");
  assert.equal(ev.magic, MAGIC ^ BigInt(seq), `magic of ${seq}`);
  assert.deepEqual([...ev.payload], Array.from({ length: 16 }, (_, i) => (seq + i) & 0xff), `payload of ${seq}`);
}

describe("ring buffer reader", privileged(), () => {
  let coll: Collection;
  const seq = () => Number(readGlobal(coll, "next_seq"));
  const dropped = () => Number(readGlobal(coll, "dropped"));
  const resetGlobals = () => {
    writeGlobal(coll, "next_seq", u32key(0));
    writeGlobal(coll, "dropped", new Uint8Array(8));
  };

  before(async () => {
    const path = await compileCSource("ringbuf_test", SOURCE);
    coll = loadCollection(readCollectionSpec(fileBytes(path), { name: "ringbuf_test" }));
  });
  after(() => coll?.close());

  test("N records from test runs arrive in order with exact contents (records() with a layout)", async () => {
    resetGlobals();
    const N = 300;
    using reader = new RingBufReader(coll.map("events"));
    assert.equal(reader.pending, 0);
    const r = coll.program("emit_one").testRun({ data: PACKET, repeat: 100 });
    assert.equal(r.retval, 2);
    assert.equal(reader.pending, 100 * RECORD_SPACE, "pending bytes");
    coll.program("emit_one").testRun({ data: PACKET, repeat: 200 });
    const got: { seq: number; pid: number; magic: bigint; payload: Uint8Array }[] = [];
    for await (const ev of reader.records(Event)) {
      got.push(ev);
      if (got.length === N) break;
    }
    assert.equal(got.length, N);
    got.forEach((ev, i) => checkEvent(ev, i));
    assert.equal(reader.pending, 0, "everything consumed");
    assert.equal(dropped(), 0);
  });

  test("a waiting reader wakes up for records produced later; close() ends the iteration", async () => {
    resetGlobals();
    const reader = new RingBufReader(coll.map("events"));
    const got: Uint8Array[] = [];
    let ended = false;
    const consumer = (async () => {
      for await (const rec of reader.raw()) got.push(rec);
      ended = true;
    })();
    await sleep(30);
    assert.equal(got.length, 0, "nothing yet");
    for (let batch = 0; batch < 5; batch++) {
      coll.program("emit_one").testRun({ data: PACKET, repeat: 7 });
      await sleep(15);
    }
    const deadline = Date.now() + 2000;
    while (got.length < 35 && Date.now() < deadline) await sleep(5);
    assert.equal(got.length, 35, "all 35 records delivered while waiting");
    got.forEach((rec, i) => {
      assert.equal(rec.byteLength, EVENT_SIZE);
      checkEvent(Event.decode(rec), i);
    });
    assert.equal(ended, false, "still waiting for more");
    reader.close();
    await consumer;
    assert.equal(ended, true, "close() ended the iteration");
    // A closed reader stays closed.
    assert.equal(reader.drain(() => assert.fail("no records after close")), 0);
  });

  test("close() ends an iteration that never received anything", async () => {
    const reader = new RingBufReader(coll.map("events"));
    const it = reader.records(Event)[Symbol.asyncIterator]();
    const next = it.next();
    setTimeout(() => reader.close(), 20);
    assert.deepEqual(await next, { value: undefined, done: true });
  });

  test("the ring wraps: 10 batches of 80 records through a 4 KiB ring, drained between batches", () => {
    resetGlobals();
    using reader = new RingBufReader(coll.map("small"));
    let next = 0;
    for (let batch = 0; batch < 10; batch++) {
      coll.program("emit_small").testRun({ data: PACKET, repeat: 80 });
      const n = reader.drain((rec) => {
        checkEvent(Event.decode(rec), next);
        next++;
      });
      assert.equal(n, 80, `batch ${batch}`);
    }
    assert.equal(next, 800);
    assert.equal(dropped(), 0, "nothing dropped while the reader kept up");
    assert.ok(800 * RECORD_SPACE > 4 * 4096, "the data went round the ring several times");
  });

  test("a full ring drops what does not fit; the reader gets exactly the records that did", () => {
    resetGlobals();
    using reader = new RingBufReader(coll.map("small"));
    assert.equal(reader.pending, 0);
    coll.program("emit_small").testRun({ data: PACKET, repeat: 200 });
    const fits = Math.floor(4096 / RECORD_SPACE); // 102
    assert.equal(dropped(), 200 - fits, "dropped");
    const seqs: number[] = [];
    reader.drain((rec) => seqs.push(Event.decode(rec).seq));
    assert.deepEqual(seqs, Array.from({ length: fits }, (_, i) => i));
    // Space is free again.
    coll.program("emit_small").testRun({ data: PACKET, repeat: 3 });
    const more: number[] = [];
    reader.drain((rec) => more.push(Event.decode(rec).seq));
    assert.deepEqual(more, [200, 201, 202]);
  });

  test("reserve/submit of mixed sizes; discarded records are skipped", () => {
    resetGlobals();
    using reader = new RingBufReader(coll.map("events"));
    coll.program("emit_reserve").testRun({ data: PACKET, repeat: 40 });
    const recs: Uint8Array[] = [];
    reader.drain((rec) => recs.push(rec.slice()));
    const want = Array.from({ length: 40 }, (_, i) => i).filter((s) => s % 4 !== 3);
    assert.deepEqual(recs.map((r) => Number(leUint(r, 0, 4))), want, "every submitted record, in order");
    for (const r of recs) {
      const s = Number(leUint(r, 0, 4));
      if (s % 2 === 0) {
        assert.equal(r.byteLength, 16);
        assert.equal(leUint(r, 4, 4), 1);
        assert.equal(BigInt(leUint(r, 8, 8)), BigInt(s) * 1000003n);
      } else {
        assert.equal(r.byteLength, 40);
        assert.equal(leUint(r, 4, 4), 2);
        assert.deepEqual([...r.subarray(8)], Array.from({ length: 32 }, (_, i) => 0xa0 + i));
      }
    }
    assert.equal(reader.pending, 0, "discarded space is consumed too");
  });

  test("a syscall program emits records in a loop; drain() respects a limit", (t) => {
    if (!needs(t, { programType: "SYSCALL" })) return;
    resetGlobals();
    using reader = new RingBufReader(coll.map("events"));
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, 50, true);
    assert.equal(coll.program("emit_loop").testRun({ ctx, ctxOutSize: 0 }).retval, 50);
    const first: number[] = [];
    assert.equal(reader.drain((rec) => first.push(Event.decode(rec).seq), 20), 20);
    assert.deepEqual(first, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(reader.pending, 30 * RECORD_SPACE);
    const rest: number[] = [];
    assert.equal(reader.drain((rec) => rest.push(Event.decode(rec).seq)), 30);
    assert.deepEqual(rest, Array.from({ length: 30 }, (_, i) => 20 + i));
    assert.equal(seq(), 50);
  });

  test("a layout longer than the records is a typed error; a non-ringbuf map is refused", async () => {
    resetGlobals();
    using reader = new RingBufReader(coll.map("events"));
    coll.program("emit_one").testRun({ data: PACKET });
    const TooBig = struct({ a: bytes(EVENT_SIZE), b: u64 });
    await assert.rejects(
      async () => {
        for await (const _ of reader.records(TooBig)) break;
      },
      (e: unknown) => e instanceof TsbpfError && e.code === "SHORT_RECORD",
    );
    assert.throws(() => new RingBufReader(coll.map(".bss")), (e: unknown) => e instanceof TsbpfError && e.code === "BAD_MAP_TYPE");
  });
});
