// Shutdown of event readers: closing the Collection or the reader ends iterations and listeners,
// releases every fd and poll handle, and leaves nothing that keeps the process from exiting.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { TsbpfError } from "../../src/errors.js";
import type { Collection } from "../../src/runtime/collection.js";
import { PerfBufReader } from "../../src/runtime/perfbuf.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { REPO_ROOT } from "../helpers/toolchain.js";
import { privileged } from "../helpers/privileges.js";
import { PACKET, loadEvents, openFds } from "./events-common.js";

function runChild(mode: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/kernel/events-exit-child.ts"), mode], { cwd: REPO_ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      const e = err as { code?: number | null; signal?: string | null } | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe("event reader shutdown", privileged(), () => {
  let coll: Collection;
  before(async () => {
    coll = await loadEvents();
  });
  after(() => coll?.close());

  test("closing the collection ends waiting ring and perf iterations; the process then exits by itself", async () => {
    const r = await runChild("close-collection");
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), "done");
  });

  test("idle readers that nobody closes do not keep the process alive", async () => {
    const r = await runChild("idle-reader");
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), "done");
  });

  test("breaking out of a loop leaves an idle reader that does not keep the process alive", async () => {
    const r = await runChild("break");
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), "done");
  });

  for (const mode of ["teardown", "teardown-exit"]) {
    test(`readers left open in several states at exit: node's teardown closes their poll handles cleanly (${mode})`, async () => {
      for (let i = 0; i < 3; i++) {
        const r = await runChild(mode);
        assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), "done");
      }
    });
  }

  test("no fds leak: 20 rounds of ring (two maps) and perf readers, used and closed", async () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const ring = new RingBufReader([coll.map("rb_a"), coll.map("rb_b")]);
      const perf = new PerfBufReader(coll.map("pb"));
      coll.program("rb_a_one").testRun({ data: PACKET, repeat: 3 });
      coll.program("pb_one").testRun({ data: PACKET, repeat: 3 });
      const waiting = ring.wait();
      const listening = perf.listen(() => {});
      ring.drain();
      ring.close();
      perf.close();
      await waiting;
      await listening;
    }
    assert.equal(openFds(), before);
  });

  test("after close: iteration ends at once, wait() is false, drain() is 0, add() and listen() refuse or end", async () => {
    const ring = new RingBufReader(coll.map("rb_a"));
    ring.drain(); // whatever earlier tests left
    const it = ring[Symbol.asyncIterator]();
    const pending = it.next();
    const listening = new RingBufReader(coll.map("rb_b"));
    const l = listening.listen(() => {});
    ring.close();
    listening.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    await l;
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    assert.equal(await ring.wait(), false);
    assert.equal(ring.drain(() => assert.fail("nothing after close")), 0);
    assert.throws(() => ring.add(coll.map("rb_b")), (e: unknown) => e instanceof TsbpfError && e.code === "CLOSED");
    await ring.listen(() => {}); // resolves at once
    ring.close(); // idempotent
  });

  test("closing a reader from inside its own callback stops right there, with that record consumed", async () => {
    const first = new RingBufReader(coll.map("rb_a"));
    first.drain();
    coll.program("rb_a_one").testRun({ data: PACKET, repeat: 10 });
    const seen: number[] = [];
    await first.listenAt((bytes, off) => {
      seen.push(new DataView(bytes.buffer, bytes.byteOffset).getUint32(off, true));
      if (seen.length === 4) first.close();
    });
    assert.equal(seen.length, 4);
    const next = new RingBufReader(coll.map("rb_a"));
    const rest: number[] = [];
    next.drain((r) => rest.push(new DataView(r.buffer, r.byteOffset).getUint32(0, true)));
    next.close();
    assert.deepEqual(rest, Array.from({ length: 6 }, (_, i) => seen[3] + 1 + i));

    const perf = new PerfBufReader(coll.map("pb"));
    perf.drain(() => {});
    coll.program("pb_one").testRun({ data: PACKET, repeat: 10 });
    let got = 0;
    perf.drain(() => {
      if (++got === 3) perf.close();
    });
    assert.equal(got, 3);
  });

  test("a reader outlives the map objects it was made from (it holds its own fds)", async () => {
    const other = await loadEvents();
    const ring = new RingBufReader(other.map("rb_a"));
    other.program("rb_a_one").testRun({ data: PACKET, repeat: 4 });
    other.close();
    assert.equal(ring.drain(), 4);
    ring.close();
    assert.throws(() => other.ringbuf("rb_a"), (e: unknown) => e instanceof TsbpfError);
  });
});
