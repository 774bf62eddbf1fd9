// Layouts shared by xdp-firewall.bpf.ts (kernel) and main.ts (userspace): the blocklist keys, the
// per-verdict counters and the record sent for each dropped packet.

import { bytes, struct, u16, u32, u64, u8 } from "../../src/types/index.js";

/** Key of the address blocklist (an LPM trie): a prefix length, then the IPv4 address in network order. */
export const Ipv4Prefix = struct({ prefixLen: u32, addr: bytes(4) }, { name: "ipv4_prefix" });

/** Key of the port blocklist: IP protocol (6 TCP, 17 UDP) and destination port in host order. */
export const PortKey = struct({ proto: u8, port: u16 }, { name: "port_key" });

/** Packet and byte counts; one per verdict in a per-CPU array. */
export const Counter = struct({ packets: u64, bytes: u64 }, { name: "counter" });

/** Indices of the counters array. */
export const Verdict = { PASS: 0, DROP_ADDRESS: 1, DROP_PORT: 2, NOT_IPV4: 3 } as const;
export const VERDICTS = 4;

/** Why a packet was dropped (DropEvent.reason). */
export const DropReason = { ADDRESS: 1, PORT: 2 } as const;

/** One dropped packet. Addresses in network order; ports in host order. */
export const DropEvent = struct({
  saddr: bytes(4),
  daddr: bytes(4),
  sport: u16,
  dport: u16,
  len: u16,
  proto: u8,
  reason: u8,
}, { name: "drop_event" });
