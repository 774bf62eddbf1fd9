// The histogram layout shared by runqlat.bpf.ts (kernel) and main.ts (userspace): log2 buckets of
// run-queue latency, one histogram per key (0 for the whole machine, or a thread id).

import { array, struct, u64 } from "../../src/types/index.js";

/** Number of log2 buckets: bucket k counts latencies in [2^k, 2^(k+1)) units (bucket 0 also holds 0). */
export const SLOTS = 32;

export const Hist = struct({ slots: array(u64, SLOTS) }, { name: "hist" });
