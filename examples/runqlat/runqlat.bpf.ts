// runqlat.bpf.ts: the kernel half of runqlat (compiled by tsbpf). Measures how long threads wait on a run
// queue: the time from a wake-up (or a preemption) to the moment the thread runs, as a log2 histogram.

import { bpf, HashMap, tracepoint, BPF_NOEXIST, u32, type u64 } from "tsbpf/kernel";
import { Hist, SLOTS } from "./common.js";

const TASK_RUNNING = 0n;

/** When each thread (kernel pid) was put on a run queue. */
const enqueued = new HashMap<u32, u64>({ maxEntries: 10240 });
/** Histograms: key 0 for everything, or the thread id when perThread is set. */
const hists = new HashMap({ maxEntries: 1024, key: u32, value: Hist });

/** Only this thread when not 0. */
let targetTid: u32 = 0;
/** 1: one histogram per thread. */
let perThread: u32 = 0;
/** 1: milliseconds instead of microseconds. */
let milliseconds: u32 = 0;

/** floor(log2(v)) for v > 0, and 0 for 0. */
function log2(v: u64): u32 {
  let x = v;
  let r: u32 = 0;
  if (x >= 0x100000000n) { r += 32; x = x >> 32n; }
  if (x >= 0x10000n) { r += 16; x = x >> 16n; }
  if (x >= 0x100n) { r += 8; x = x >> 8n; }
  if (x >= 0x10n) { r += 4; x = x >> 4n; }
  if (x >= 0x4n) { r += 2; x = x >> 2n; }
  if (x >= 0x2n) r += 1;
  return r;
}

function markEnqueued(tid: u32): void {
  if (tid === 0) return; // the idle task
  if (targetTid !== 0 && tid !== targetTid) return;
  enqueued.update(tid, bpf.ktimeNs());
}

export const onWakeup = tracepoint("sched/sched_wakeup", (ctx) => {
  markEnqueued(u32(ctx.pid));
  return 0;
});

export const onWakeupNew = tracepoint("sched/sched_wakeup_new", (ctx) => {
  markEnqueued(u32(ctx.pid));
  return 0;
});

export const onSwitch = tracepoint("sched/sched_switch", (ctx) => {
  // A thread preempted while runnable goes straight back to a run queue.
  if (ctx.prev_state === TASK_RUNNING) markEnqueued(u32(ctx.prev_pid));

  const tid = u32(ctx.next_pid);
  const start = enqueued.lookup(tid);
  if (start === null) return 0;
  const now = bpf.ktimeNs();
  let delta = now - start;
  enqueued.delete(tid);
  if (now < start) return 0;
  delta = milliseconds !== 0 ? delta / 1000000n : delta / 1000n;

  let slot = log2(delta);
  if (slot >= SLOTS) slot = SLOTS - 1;
  const key: u32 = perThread !== 0 ? tid : 0;
  let h = hists.lookup(key);
  if (h === null) {
    hists.update(key, Hist.zero(), BPF_NOEXIST);
    h = hists.lookup(key);
    if (h === null) return 0;
  }
  h.slots[slot] = h.slots[slot] + 1n;
  return 0;
});
