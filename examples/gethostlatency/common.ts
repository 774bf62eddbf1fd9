// The event layout shared by gethostlatency.bpf.ts (kernel) and main.ts (userspace): one record per
// host name lookup through libc (getaddrinfo, gethostbyname, gethostbyname2) that returned.

import { cstring, i64, struct, u32, u64 } from "../../src/types/index.js";

/** Longest host name kept (longer ones are cut). */
export const HOST_LEN = 80;

export const LookupEvent = struct({
  latencyNs: u64,
  pid: u32,
  tid: u32,
  /** Which function: LookupFunction.*. */
  func: u32,
  /** The return value: 0 or an EAI_* code (getaddrinfo); a struct hostent pointer, 0 on failure (gethostbyname*). */
  ret: i64,
  comm: cstring(16),
  host: cstring(HOST_LEN),
}, { name: "lookup_event" });

/** LookupEvent.func values. */
export const LookupFunction = { GETADDRINFO: 0, GETHOSTBYNAME: 1 } as const;
