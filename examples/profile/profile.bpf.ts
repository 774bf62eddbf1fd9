// profile.bpf.ts: the kernel half of profile (compiled by tsbpf). A perf_event program runs at a fixed
// frequency on every CPU, records the interrupted kernel and user stacks, and counts samples per
// (process, thread, stacks) key.

import { bpf, HashMap, i32, perfEvent, StackTraceMap, u64 } from "tsbpf/kernel";
import { SampleKey, STACK_DEPTH } from "./common.js";

/** bpf_get_stackid flags. */
const BPF_F_USER_STACK = 256n;

const stacks = new StackTraceMap({ maxEntries: 16384, depth: STACK_DEPTH });
const counts = new HashMap({ maxEntries: 16384, key: SampleKey, value: u64 });

/** Samples taken while the CPU was idle (pid 0), not counted per stack. */
let idleSamples: u64 = 0n;

export const onSample = perfEvent((ctx) => {
  const pid = bpf.pid();
  if (pid === 0) {
    idleSamples = idleSamples + 1n;
    return 0;
  }
  const key = SampleKey.zero();
  key.pid = pid;
  key.tid = bpf.tid();
  key.kernelStack = i32(stacks.getStackId(ctx, 0n));
  key.userStack = i32(stacks.getStackId(ctx, BPF_F_USER_STACK));
  bpf.currentComm(key.comm);
  counts.increment(key);
  return 0;
});
