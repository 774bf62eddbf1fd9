// The event layout shared by opensnoop.bpf.ts (kernel) and main.ts (userspace): one record per
// open/openat/openat2 call that returned, with the caller, the flags, the result and the path.

import { cstring, i32, struct, u32, u64 } from "../../src/types/index.js";

/** One completed open(2)-family call. `ret` is the new fd, or a negative errno. */
export const OpenEvent = struct({
  latencyNs: u64,
  pid: u32,
  tid: u32,
  uid: u32,
  ret: i32,
  flags: i32,
  syscall: u32,
  comm: cstring(16),
  filename: cstring(256),
}, { name: "open_event" });
