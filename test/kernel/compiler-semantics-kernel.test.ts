// Semantic tests of helpers, queue/stack maps, ring buffer records and CO-RE kernel reads compiled
// from TypeScript: checked against userspace's view (clock, pids of a spawned process).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import type { Collection } from "../../src/runtime/collection.js";
import { loadFixture, readU64s } from "../helpers/compile-ts.js";
import { privileged } from "../helpers/privileges.js";

describe("compiler semantics: helpers, queue/stack, ring buffer, CO-RE", privileged(), () => {
  let coll: Collection;
  before(() => {
    coll = loadFixture("kernel.bpf.ts");
  });
  after(() => coll?.close());

  test("ktime, random, printk, queue FIFO / stack LIFO, ring buffer records", () => {
    using reader = new RingBufReader(coll.map("events"));
    for (let i = 1; i <= 5; i++) {
      const data = new Uint8Array(64);
      const dv = new DataView(data.buffer);
      dv.setUint32(0, i * 10, true);
      dv.setUint32(4, i * 10 + 1, true);
      const before = process.hrtime.bigint();
      assert.equal(coll.program("helpers").testRun({ data }).retval, 2);
      const afterT = process.hrtime.bigint();
      const v = readU64s(coll, "out");
      assert.ok(v[0]! >= before && v[0]! <= afterT, `ktime ${v[0]} within [${before}, ${afterT}]`);
      assert.ok(v[1]! >= 14n, `random varies: ${v[1]} of 16 differ`);
      assert.ok(v[2]! < 10n);
      assert.equal(v[3], BigInt(i * 10)); // queue (FIFO): the first pushed
      assert.equal(v[4], BigInt(i * 10 + 1)); // stack: last pushed
      assert.equal(v[5], BigInt(i * 10 + 1)); // queue head now
      // drain the queue's remaining element so the next run starts empty
      coll.map("queue").lookupAndDeleteRaw(null);
    }
    const recs: { seq: number; val: number; t: bigint }[] = [];
    reader.drain((b) => {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      recs.push({ seq: dv.getUint32(0, true), val: dv.getUint32(4, true), t: dv.getBigUint64(8, true) });
    });
    assert.deepEqual(recs.map((r) => [r.seq, r.val]), [1, 2, 3, 4, 5].map((i) => [i * 10, (i * 10 + 1) * 2]));
    assert.ok(recs.every((r, i) => i === 0 || r.t >= recs[i - 1]!.t));
  });

  test("CO-RE: a sched_process_exec tracepoint reads tgid and real_parent.tgid of a spawned process", () => {
    using reader = new RingBufReader(coll.map("execs"));
    coll.program("onExec").attach();
    const child = spawnSync("/bin/true");
    assert.equal(child.status, 0);
    const seen: { pid: number; ppid: number; comm: string }[] = [];
    reader.drain((b) => {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const comm = Buffer.from(b.subarray(8, 24)).toString("latin1").replace(/\0.*$/s, "");
      seen.push({ pid: dv.getUint32(0, true), ppid: dv.getUint32(4, true), comm });
    });
    const mine = seen.find((e) => e.pid === child.pid);
    assert.ok(mine, `an exec event for pid ${child.pid} among ${JSON.stringify(seen)}`);
    assert.equal(mine.ppid, process.pid);
    assert.equal(mine.comm, "true");
  });
});
