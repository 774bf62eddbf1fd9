// Child process for test/kernel/events-shutdown.test.ts: sets up event readers in one of several ways
// and must then exit on its own (argv[2] is the mode); prints "done" when its consumers ended.

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
}
