// The event layout shared with execsnoop.bpf.c (struct exec_event): defined once, decoded in userspace.
// When the TypeScript kernel side exists, the same definition will give the compiler the C layout.

import { cstring, struct, u32 } from "../../src/types/index.js";

export const ExecEvent = struct({
  pid: u32,
  ppid: u32,
  uid: u32,
  comm: cstring(16),
  filename: cstring(256),
}, { name: "exec_event" });
