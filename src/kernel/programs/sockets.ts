// Socket-level program kinds: sk_msg and sk_skb on sockets in a SockMap/SockHash, sk_lookup and
// flow_dissector on a network namespace, sk_reuseport on a SO_REUSEPORT group.
// Compiler side: src/compiler/kinds/{sk-msg,sk-skb,sk-lookup,sk-reuseport,flow-dissector,sock-maps}.ts.

import type { i64, ReuseportSockArray, SockHash, SockMap, u16, u32, u64, u8 } from "../index.js";
import type { PacketAccess, Program } from "../program.js";
import type { SkBuffContext } from "./skb.js";

/** A map of sockets a redirect or lookup may name: a SockMap (u32 index) or a SockHash (its key type). */
type SocketTarget<K> = [map: SockMap, key: u32] | [map: SockHash<K>, key: K];

/**
 * sk_msg context (struct sk_msg_md), read-only. Packet access (`ctx.load`) reaches the bytes between
 * `data` and `data_end`: the first part of the message (`ctx.len` bytes; `ctx.pullData` brings more).
 */
export interface SkMsgContext extends PacketAccess {
  /** AF_INET (2) or AF_INET6 (10). */
  readonly family: u32;
  /** Remote IPv4 address, network byte order. */
  readonly remoteIp4: u32;
  /** Local IPv4 address, network byte order. */
  readonly localIp4: u32;
  /** Remote IPv6 address, four u32 in network byte order (a copy: the kernel allows no context pointer arithmetic). */
  readonly remoteIp6: readonly u32[];
  /** Local IPv6 address, as `remoteIp6`. */
  readonly localIp6: readonly u32[];
  /** Remote port, network byte order in the upper 16 bits: `bpf.ntohl(ctx.remotePort)` is the port. */
  readonly remotePort: u32;
  /** Local port, host byte order. */
  readonly localPort: u32;
  /** Total size of the message in bytes (beyond what is in reach). */
  readonly size: u32;
  /**
   * bpf_msg_redirect_map / bpf_msg_redirect_hash: after this, returning SK_PASS sends the message to the
   * socket at `key` of `map` (egress of that socket; `flags` BPF_F_INGRESS: its receive queue).
   * Returns SK_PASS when the socket is there, else SK_DROP.
   */
  redirect<K>(...args: [...SocketTarget<K>, flags?: u64]): u32;
  /** bpf_msg_apply_bytes: apply this program's verdict to the next `bytes` bytes without running again. */
  applyBytes(bytes: u32): i64;
  /** bpf_msg_cork_bytes: do not run the program again until `bytes` bytes have accumulated. */
  corkBytes(bytes: u32): i64;
  /** bpf_msg_pull_data: make bytes `start` to `end` directly reachable (data..data_end). */
  pullData(start: u32, end: u32, flags?: u64): i64;
  /** bpf_msg_push_data: insert `len` bytes of space at `start`. */
  pushData(start: u32, len: u32, flags?: u64): i64;
  /** bpf_msg_pop_data: remove `len` bytes at `start`. */
  popData(start: u32, len: u32, flags?: u64): i64;
}

/** Methods of the socket buffer context that only sk_skb programs have. */
export interface SkSkbMethods {
  /**
   * bpf_sk_redirect_map / bpf_sk_redirect_hash: after this, returning SK_PASS hands the data to the
   * socket at `key` of `map` (sent from it; `flags` BPF_F_INGRESS: into its receive queue). Returns
   * SK_PASS when the socket is there, else SK_DROP.
   */
  redirect<K>(...args: [...SocketTarget<K>, flags?: u64]): u32;
  /** bpf_skb_pull_data: make the first `len` bytes directly reachable. */
  pullData(len: u32): i64;
}

/** sk_lookup context (struct bpf_sk_lookup), read-only. */
export interface SkLookupContext {
  /** AF_INET (2) or AF_INET6 (10). */
  readonly family: u32;
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  readonly protocol: u32;
  /** Remote IPv4 address, network byte order. */
  readonly remoteIp4: u32;
  /** Remote IPv6 address, four u32 in network byte order (a copy). */
  readonly remoteIp6: readonly u32[];
  /** Local (destination) IPv6 address, four u32 in network byte order (a copy). */
  readonly localIp6: readonly u32[];
  /** Remote port, network byte order (`bpf.ntohs` gives the port). */
  readonly remotePort: u16;
  /** Local (destination) IPv4 address, network byte order. */
  readonly localIp4: u32;
  /** Local (destination) port, host byte order. */
  readonly localPort: u32;
  /** The interface the packet arrived on. */
  readonly ingressIfindex: u32;
  /**
   * Look the socket at `key` of `map` up and select it for this connection or datagram (bpf_sk_assign;
   * the socket reference is released again). Returns 0, -ENOENT (-2) when `key` holds no socket, or a
   * negative errno from the kernel (e.g. -ESOCKTNOSUPPORT for a socket of the wrong protocol, -EEXIST
   * when one was already selected without BPF_SK_LOOKUP_F_REPLACE in `flags`).
   */
  assign<K>(...args: [...SocketTarget<K>, flags?: u64]): i64;
}

/** sk_reuseport context (struct sk_reuseport_md), read-only; packet access from the transport header. */
export interface SkReuseportContext extends PacketAccess {
  /** Length of the packet (skb->len). */
  readonly len: u32;
  /** Ethernet protocol of the packet, network byte order (ETH_P_IP: `bpf.htons(0x0800)`). */
  readonly ethProtocol: u32;
  /** IPPROTO_TCP or IPPROTO_UDP. */
  readonly ipProtocol: u32;
  /** 1 when the group is bound to INADDR_ANY. */
  readonly bindInany: u32;
  /** The flow hash the kernel would use to pick a socket. */
  readonly hash: u32;
  /**
   * bpf_sk_select_reuseport: choose the socket at `key` of `map` (a ReuseportSockArray, SockMap or
   * SockHash); returning SK_PASS then delivers to it. Returns 0 or a negative errno (-ENOENT: no socket
   * at `key`; -EINVAL: the socket is not in this reuseport group).
   */
  select<K>(...args: [map: ReuseportSockArray, key: u32, flags?: u64] | [...SocketTarget<K>, flags?: u64]): i64;
}

/** struct bpf_flow_keys: what a flow dissector fills in. Every field is writable. */
export interface FlowKeys {
  /** Offset of the network header (set by the kernel on entry). */
  nhoff: u16;
  /** Offset of the transport header. */
  thoff: u16;
  /** ETH_P_IP or ETH_P_IPV6 when `addr` holds addresses of that family (host byte order). */
  addrProto: u16;
  isFrag: u8;
  isFirstFrag: u8;
  isEncap: u8;
  /** IP protocol of the transport header. */
  ipProto: u8;
  /** Ethernet protocol of the network header, network byte order (set by the kernel on entry). */
  nProto: u16;
  /** Source and destination ports, network byte order. */
  sport: u16;
  dport: u16;
  /** The addresses, network byte order: IPv4 or IPv6 (the same bytes). */
  addr: { ipv4: { src: u32; dst: u32 }; ipv6: { src: u32[]; dst: u32[] } };
  /** BPF_FLOW_DISSECTOR_F_* flags the kernel passes in. */
  flags: u32;
  /** IPv6 flow label, network byte order. */
  flowLabel: u32;
}

/** flow_dissector context (struct __sk_buff): only the packet and the flow keys are readable. */
export interface FlowDissectorContext extends PacketAccess {
  /** The flow keys to fill in (skb->flow_keys). */
  readonly flowKeys: FlowKeys;
}

/** `SEC("sk_msg")`: return SK_PASS or SK_DROP ({@link SkAction}; a constant outside 0..1 is a compile error). */
export declare function skMsg(handler: (ctx: SkMsgContext) => number): Program<"sk_msg">;
/**
 * `SEC("sk_skb/stream_parser|stream_verdict|verdict")`: a stream parser returns the length of the next
 * message (0: more data needed); a verdict returns SK_PASS or SK_DROP ({@link SkAction}).
 */
export declare function skSkb(attach: "stream_parser" | "stream_verdict" | "verdict", handler: (ctx: SkBuffContext & SkSkbMethods) => number): Program<"sk_skb">;
/** `SEC("sk_lookup")`: return SK_PASS or SK_DROP (the kernel refuses other values). */
export declare function skLookup(handler: (ctx: SkLookupContext) => number): Program<"sk_lookup">;
/** `SEC("sk_reuseport")`: return SK_PASS (the selected socket, or the kernel's pick) or SK_DROP. */
export declare function skReuseport(handler: (ctx: SkReuseportContext) => number): Program<"sk_reuseport">;
/** `SEC("flow_dissector")`: return a {@link FlowDissectorAction}. */
export declare function flowDissector(handler: (ctx: FlowDissectorContext) => number): Program<"flow_dissector">;

/** Socket-level verdicts (sk_msg, sk_skb verdicts, sk_lookup, sk_reuseport). */
export declare const SkAction: { readonly DROP: 0; readonly PASS: 1 };
/** Flow dissector results: keys filled, dissection failed, or let the kernel's dissector run. */
export declare const FlowDissectorAction: { readonly OK: 0; readonly DROP: 2; readonly CONTINUE: 129 };
