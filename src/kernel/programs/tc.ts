// TC and TCX programs (sched_cls): the socket buffer context with the helpers that rewrite, resize and
// redirect packets. Compiler side: src/compiler/kinds/{tc,tcx,skb-methods}.ts.

import type { i32, i64, u16, u32, u64 } from "../index.js";
import type { Program } from "../program.js";
import type { SkBuffContext } from "./skb.js";

/**
 * Context of TC and TCX programs: struct __sk_buff plus methods for the kernel's skb helpers.
 * Methods that change packet data (storeBytes, the checksum fixes, changeTail/Head, adjustRoom,
 * changeProto, pullData, cloneRedirect, vlanPush/Pop) make every earlier `ctx.load` view stale: the
 * verifier rejects a program that reads or writes through one after the call, and the compiler reports a
 * later use of a `const` view; load the header again. Each returns 0 or a negative errno unless noted.
 */
export interface TcContext extends SkBuffContext {
  /** bpf_skb_load_bytes: copies `dest`'s size of packet bytes at `offset` into `dest`. */
  loadBytes(offset: u32, dest: object): i64;
  /**
   * bpf_skb_store_bytes: writes `value` (an integer of a declared width, e.g. `u16(x)`, or a struct) at
   * `offset`. `flags`: BPF_F_RECOMPUTE_CSUM, BPF_F_INVALIDATE_HASH. Changes packet data.
   */
  storeBytes(offset: u32, value: object | number | bigint, flags?: u64 | number): i64;
  /**
   * bpf_l3_csum_replace: fixes the IP checksum at `offset` for a field changed from `from` to `to`;
   * `flags` holds the field size (2 or 4) in its low bits. Changes packet data.
   */
  l3CsumReplace(offset: u32, from: u64 | number, to: u64 | number, flags: u64 | number): i64;
  /**
   * bpf_l4_csum_replace: as l3CsumReplace for the TCP/UDP checksum at `offset`; add BPF_F_PSEUDO_HDR when
   * the field is in the pseudo header (addresses), BPF_F_MARK_MANGLED_0 for UDP. Changes packet data.
   */
  l4CsumReplace(offset: u32, from: u64 | number, to: u64 | number, flags: u64 | number): i64;
  /** bpf_skb_change_tail: grows or trims the packet to `len` bytes. Changes packet data. */
  changeTail(len: u32, flags?: u64 | number): i64;
  /** bpf_skb_change_head: grows headroom by `len` bytes at the front (L3 devices). Changes packet data. */
  changeHead(len: u32, flags?: u64 | number): i64;
  /**
   * bpf_skb_adjust_room: adds (`lenDiff` > 0) or removes room at the network header (`mode`
   * AdjRoomMode.NET) or the MAC header (AdjRoomMode.MAC); `flags`: BPF_F_ADJ_ROOM_*. Changes packet data.
   */
  adjustRoom(lenDiff: i32, mode: u32, flags?: u64 | number): i64;
  /** bpf_skb_change_proto: switches IPv4 ↔ IPv6 (`proto` in network order: ETH_P_IPV6 as 0xdd86). Changes packet data. */
  changeProto(proto: u16 | u32, flags?: u64 | number): i64;
  /** bpf_skb_pull_data: makes the first `len` bytes (0: all) directly readable. Changes packet data. */
  pullData(len?: u32): i64;
  /**
   * bpf_skb_vlan_push: adds a VLAN tag (`proto` ETH_P_8021Q as 0x0081 or ETH_P_8021AD as 0xa888, network
   * order; `tci` host order), as the kernel's offloaded tag when the packet has none. Changes packet data.
   */
  vlanPush(proto: u16 | u32, tci: u16 | u32): i64;
  /** bpf_skb_vlan_pop: removes the outer VLAN tag. Changes packet data. */
  vlanPop(): i64;
  /** bpf_clone_redirect: sends a copy to interface `ifindex` (egress, or ingress with BPF_F_INGRESS); the verdict applies to the original. */
  cloneRedirect(ifindex: u32, flags?: u64 | number): i64;
  /** bpf_redirect_peer: at TC ingress, moves the packet to the peer of veth/netkit `ifindex`; return its result (TC_ACT_REDIRECT). */
  redirectPeer(ifindex: u32, flags?: u64 | number): i32;
  /** bpf_redirect_neigh: sends the packet out of `ifindex` with the neighbour layer filling L2; return its result. */
  redirectNeigh(ifindex: u32, flags?: u64 | number): i32;
  /** bpf_get_hash_recalc: the packet's flow hash, computed if not yet. */
  hashRecalc(): u32;
  /** bpf_csum_diff: the checksum difference from `from` to `to` (sizes multiples of 4), folded into `seed`. */
  csumDiff(from: object, to: object, seed?: u32): i64;
}

/** `SEC("tcx/ingress")`, `SEC("tcx/egress")`: a TC program for a TCX link; return a {@link TcAction}. */
export declare function tcx(direction: "ingress" | "egress", handler: (ctx: TcContext) => number): Program<"tcx">;

/** `mode` of {@link TcContext.adjustRoom}: BPF_ADJ_ROOM_NET (at the network header) or BPF_ADJ_ROOM_MAC. */
export declare const AdjRoomMode: { readonly NET: 0; readonly MAC: 1 };
