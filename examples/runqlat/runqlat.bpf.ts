// runqlat.bpf.ts: the kernel half of runqlat (compiled by tsbpf). Measures how long threads wait on a run
// queue: the time from a wake-up (or a preemption) to the moment the thread runs, as a log2 histogram.
// BTF tracepoints: the scheduler's task_struct arguments are typed, and their fields are direct loads.

import { bpf, btfTracepoint, HashMap, BPF_NOEXIST, u32, type task_struct, type u64 } from "tsbpf/kernel";
import { Hist, SLOTS } from "./common.js";

const TASK_RUNNING = 0;

/** When each thread (kernel pid) was put on a run queue. */
const enqueued = new HashMap<u32, u64>({ maxEntries: 10240 });
/** Histograms: key 0 for everything, or the thread id / process id (perKey). */
const hists = new HashMap({ maxEntries: 1024, key: u32, value: Hist });

/** Only this process (tgid) when not 0. */
let targetPid: u32 = 0;
/** Histogram key: 0 one histogram, 1 per thread, 2 per process. */
let perKey: u32 = 0;
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

function markEnqueued(task: task_struct): void {
  const tid = u32(task.pid);
  if (tid === 0) return; // the idle task
  if (targetPid !== 0 && u32(task.tgid) !== targetPid) return;
  enqueued.update(tid, bpf.ktimeNs());
}

export const onWakeup = btfTracepoint("sched_wakeup", (ctx) => {
  markEnqueued(ctx.args.p);
  return 0;
});

export const onWakeupNew = btfTracepoint("sched_wakeup_new", (ctx) => {
  markEnqueued(ctx.args.p);
  return 0;
});

export const onSwitch = btfTracepoint("sched_switch", (ctx) => {
  // A thread preempted while runnable goes straight back to a run queue.
  if (ctx.args.prev_state === TASK_RUNNING) markEnqueued(ctx.args.prev);

  const next = ctx.args.next;
  const tid = u32(next.pid);
  const start = enqueued.lookup(tid);
  if (start === null) return 0;
  const now = bpf.ktimeNs();
  let delta = now - start;
  enqueued.delete(tid);
  if (now < start) return 0;
  delta = milliseconds !== 0 ? delta / 1000000n : delta / 1000n;

  let slot = log2(delta);
  if (slot >= SLOTS) slot = SLOTS - 1;
  const key: u32 = perKey === 1 ? tid : perKey === 2 ? u32(next.tgid) : 0;
  let h = hists.lookup(key);
  if (h === null) {
    hists.update(key, Hist.zero(), BPF_NOEXIST);
    h = hists.lookup(key);
    if (h === null) return 0;
  }
  h.slots[slot] = h.slots[slot] + 1n;
  return 0;
});
