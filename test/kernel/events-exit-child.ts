// Child process for test/kernel/events-shutdown.test.ts: sets up event readers in one of several ways
// and must then exit on its own (argv[2] is the mode); prints "done" when its consumers ended.

import { PerfBufReader } from "../../src/runtime/perfbuf.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";
import { PACKET, loadEvents } from "./events-common.js";

const mode = process.argv[2];
const coll = await loadEvents();
if (mode === "close-collection") {
  // Two waiting iterations (ring and perf); closing the collection ends both, then nothing holds the loop.
  const ring = (async () => {
    for await (const _ of coll.ringbuf("rb_a")) void _;
  })();
  const perf = (async () => {
    for await (const _ of coll.perfbuf("pb")) void _;
  })();
  setTimeout(() => coll.close(), 100);
  await Promise.all([ring, perf]);
  console.log("done");
} else if (mode === "idle-reader") {
  // Readers nobody waits on (never closed) do not keep the process alive.
  coll.ringbuf("rb_a");
  coll.perfbuf("pb");
  coll.program("rb_a_one").testRun({ data: PACKET, repeat: 5 });
  console.log("done");
} else if (mode === "break") {
  // A loop that breaks out leaves an open, idle reader behind: the process still exits.
  coll.program("rb_a_one").testRun({ data: PACKET, repeat: 5 });
  let n = 0;
  for await (const _ of coll.ringbuf("rb_a")) if (++n === 5) break;
  console.log("done");
} else if (mode === "teardown" || mode === "teardown-exit") {
  // Readers in several states left open at exit; the addon closes their poll handles during node's
  // teardown (once crashed in the handles' close callback). "teardown" ends by running out of work:
  // an idle reader, a ring reader drained after a wait, a perf reader that listened and stopped.
  // "teardown-exit" also leaves a waiting iteration (of the idle reader) behind and leaves through
  // process.exit(). One reader per ring: a second reader of a ring is refused.
  const idle = coll.ringbuf("rb_b");
  const ring = new RingBufReader([coll.map("rb_a")]);
  coll.program("rb_a_one").testRun({ data: PACKET, repeat: 3 });
  await ring.wait();
  ring.drain();
  const perf = new PerfBufReader(coll.map("pb"));
  let samples = 0;
  const listening = perf.listen(() => void samples++);
  coll.program("pb_one").testRun({ data: PACKET, repeat: 3 });
  while (samples < 3) await new Promise((r) => setTimeout(r, 5));
  perf.stopListening();
  await listening;
  void idle;
  console.log("done");
  if (mode === "teardown-exit") {
    const pending = idle[Symbol.asyncIterator]();
    void pending.next();
    setTimeout(() => process.exit(0), 20);
  }
}
