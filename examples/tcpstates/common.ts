// The event layout shared by tcpstates.bpf.ts (kernel) and main.ts (userspace): one record per TCP state
// change, with the socket, the addresses and ports, the old and new states and the time spent in the old one.

import { bytes, cstring, i32, struct, u16, u32, u64 } from "../../src/types/index.js";

export const StateEvent = struct({
  /** Kernel address of the socket: the same value for every change of one connection. */
  skaddr: u64,
  /** Time spent in `oldstate`, in microseconds (0 for the first change seen). */
  deltaUs: u64,
  /** Time of the change (bpf_ktime_get_ns). */
  ts: u64,
  pid: u32,
  oldstate: i32,
  newstate: i32,
  sport: u16,
  dport: u16,
  family: u16,
  /** IPv4 addresses (family AF_INET), network order. */
  saddr4: bytes(4),
  daddr4: bytes(4),
  /** IPv6 addresses (family AF_INET6), network order. */
  saddr: bytes(16),
  daddr: bytes(16),
  comm: cstring(16),
}, { name: "state_event" });

/** The kernel's TCP states (include/net/tcp_states.h). */
export const TCP_STATES = [
  "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
  "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE",
] as const;

export const AF_INET = 2;
export const AF_INET6 = 10;
