// Layouts shared by profile.bpf.ts (kernel) and main.ts (userspace): the key under which CPU samples are
// counted — process, thread, command and the ids of the kernel and user stacks in the stack trace map.

import { cstring, i32, struct, u32 } from "../../src/types/index.js";

/** Frames kept per stack. */
export const STACK_DEPTH = 64;

/** A stack id below 0 is an error from bpf_get_stackid (-EFAULT: no user stack, e.g. a kernel thread). */
export const SampleKey = struct({
  pid: u32,
  tid: u32,
  kernelStack: i32,
  userStack: i32,
  comm: cstring(16),
}, { name: "sample_key" });
