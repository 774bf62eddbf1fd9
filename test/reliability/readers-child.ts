// Child process for readers.test.ts: a second ring buffer consumer in its own process. Opens the ring
// pinned at argv[2], consumes everything committed now with its own RingBufReader, prints the count.

import { BpfMap } from "../../src/runtime/map.js";
import { RingBufReader } from "../../src/runtime/ringbuf.js";

const map = BpfMap.openPinned(process.argv[2] ?? "", "rb_a");
const reader = new RingBufReader(map);
const n = reader.drain();
reader.close();
map.close();
process.stdout.write(`${n}\n`);
