// execsnoop.bpf.ts: the kernel half of execsnoop, in TypeScript (compiled by tsbpf, never run by node).
// On every exec it sends one ExecEvent (pid, parent pid, uid, command, file) through a ring buffer.

import { bpf, HashMap, RingBuf, tracepoint, type u32, type u64 } from "tsbpf/kernel";
import { ExecEvent } from "./common.js";

const events = new RingBuf({ byteSize: 256 * 1024 });
/** Execs seen per process id (read by userspace for a summary). */
const execs = new HashMap<u32, u64>({ maxEntries: 10240 });

export const onExec = tracepoint("sched/sched_process_exec", (ctx) => {
  const task = bpf.currentTask(); // kernel task_struct, typed from BTF
  const ev = events.reserve(ExecEvent); // ExecEvent | null: the checker forces the null check
  if (ev === null) return 0;
  ev.pid = bpf.pid();
  ev.ppid = task.real_parent.tgid; // CO-RE-relocated reads, pointer chasing included
  ev.uid = bpf.uid();
  bpf.currentComm(ev.comm);
  // __data_loc: the low 16 bits are the filename's offset from the start of the record.
  const offset = ctx.__data_loc_filename & 0xffff;
  bpf.probeReadKernelStr(ev.filename, bpf.addressOf(ctx) + BigInt(offset));
  const pid = ev.pid;
  events.submit(ev);
  execs.increment(pid);
  return 0;
});
