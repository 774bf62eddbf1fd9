// The event layout shared with execsnoop.bpf.ts and execsnoop.bpf.c (struct exec_event): defined once, decoded in userspace.
// The same definition gives the compiler (execsnoop.bpf.ts) the C layout: no code generation step.

import { cstring, struct, u32 } from "../../src/types/index.js";

export const ExecEvent = struct({
  pid: u32,
  ppid: u32,
  uid: u32,
  comm: cstring(16),
  filename: cstring(256),
}, { name: "exec_event" });
