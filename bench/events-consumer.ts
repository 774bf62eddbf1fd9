// tsbpf side of bench/events.ts, run in its own process (pinned with taskset like the reference):
// reads a pinned ring buffer or perf event array until the end marker and prints the same JSON line.
// Usage: node --import tsx bench/events-consumer.ts rb|pb <map pin> <perf pages> [callback|iterate]

import { BpfMap } from "../src/runtime/map.js";
import { PerfBufReader } from "../src/runtime/perfbuf.js";
import { RingBufReader } from "../src/runtime/ringbuf.js";
import { struct, u32, u64 } from "../src/types/index.js";

const [kind, pin, pagesArg, form = "callback"] = process.argv.slice(2);
const END = 0xffffffff;
const Rec = struct({ seq: u32, pad: u32, value: u64 });

let count = 0;
let sum = 0;
let lost = 0;
let tFirst = 0;
let tEnd = 0;
let lastBytes: Uint8Array | undefined;
let dv: DataView | undefined;

/** Per record: read the sequence number in place (what the C consumer does). Returns true at the end marker. */
function record(bytes: Uint8Array, off: number): boolean {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const seq = dv!.getUint32(off, true);
  if (seq === END) {
    tEnd = performance.now();
    return true;
  }
  if (count++ === 0) tFirst = performance.now();
  sum += seq;
  return false;
}

function report(): void {
  console.log(JSON.stringify({ events: count, seconds: (tEnd - tFirst) / 1000, lost, sum }));
}

const map = BpfMap.openPinned(pin!);
if (kind === "rb") {
  const reader = new RingBufReader(map);
  map.close();
  if (form === "iterate") {
    // for await over decoded records, one batch (array) per wake-up.
    const it = reader.records(Rec);
    console.log("ready");
    for await (const r of it) {
      if (r.seq === END) {
        tEnd = performance.now();
        break;
      }
      if (count++ === 0) tFirst = performance.now();
      sum += r.seq;
    }
    reader.close();
  } else {
    const done = reader.listenAt((bytes, off) => {
      if (record(bytes, off)) reader.close();
    });
    console.log("ready");
    await done;
  }
} else {
  const reader = new PerfBufReader(map, { pages: Number(pagesArg) });
  map.close();
  const done = reader.listenAt(
    (bytes, off) => {
      if (record(bytes, off)) reader.close();
    },
    (n) => (lost += n),
  );
  console.log("ready");
  await done;
}
report();
