// Child-process producer for the events tests: runs the XDP program on inherited fd 3 through
// BPF_PROG_TEST_RUN `runs` times with `repeat` repetitions each (argv: runs repeat).

import { progTestRun } from "../../src/sys/bpf.js";

const runs = Number(process.argv[2] ?? 1);
const repeat = Number(process.argv[3] ?? 1);
const packet = new Uint8Array(64);
const out = new Uint8Array(64 + 256);
for (let i = 0; i < runs; i++) progTestRun(3, { dataIn: packet, dataOut: out, repeat });
