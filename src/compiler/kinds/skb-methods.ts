// Context methods of socket buffer programs that change the packet or send it elsewhere (TC/TCX, LWT):
// one lowering per kernel helper, picked by each kind for the helpers its program type may call.
// Methods whose helper changes packet data (CHANGE_PACKET) make every earlier `ctx.load` view stale:
// the verifier rejects its use, so the compiler reports a later use of a `const` view (load it again).

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { I32, I64, U32 } from "../types.js";
import { arg, callHelper, intArg, memArg, optionalWide, sizedMemArg, wideArg } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import type { ContextMethod } from "./kind.js";

/** A method whose helper changes packet data: earlier `ctx.load` views become unusable after the call. */
export function changesPacket(m: ContextMethod): ContextMethod {
  return (L, c, ctx) => {
    const v = m(L, c, ctx);
    L.invalidatePacketViews(c);
    return v;
  };
}

const LOWERINGS: Readonly<Record<string, ContextMethod>> = {
  /** bpf_skb_load_bytes(skb, offset, to, len): copies the packet bytes at `offset` into `dest`. */
  loadBytes: (L, c, ctx) => {
    const { addr, size } = memArg(L, arg(L, c, 1), undefined, "destination");
    return callHelper(L, H.skb_load_bytes, [reg(ctx), intArg(L, arg(L, c, 0), U32), reg(addr), imm(size)], I64);
  },
  /** bpf_skb_store_bytes(skb, offset, from, len, flags): changes packet data. */
  storeBytes: (L, c, ctx) => {
    const off = intArg(L, arg(L, c, 0), U32);
    const { addr, size } = sizedMemArg(L, arg(L, c, 1), "ctx.storeBytes");
    return callHelper(L, H.skb_store_bytes, [reg(ctx), off, reg(addr), imm(size), optionalWide(L, c, 2)], I64);
  },
  /** bpf_l3_csum_replace(skb, offset, from, to, flags): changes packet data. */
  l3CsumReplace: (L, c, ctx) => callHelper(L, H.l3_csum_replace,
    [reg(ctx), intArg(L, arg(L, c, 0), U32), wideArg(L, arg(L, c, 1)), wideArg(L, arg(L, c, 2)), wideArg(L, arg(L, c, 3))], I64),
  /** bpf_l4_csum_replace(skb, offset, from, to, flags): changes packet data. */
  l4CsumReplace: (L, c, ctx) => callHelper(L, H.l4_csum_replace,
    [reg(ctx), intArg(L, arg(L, c, 0), U32), wideArg(L, arg(L, c, 1)), wideArg(L, arg(L, c, 2)), wideArg(L, arg(L, c, 3))], I64),
  /** bpf_skb_change_tail(skb, len, flags): changes packet data. */
  changeTail: (L, c, ctx) => callHelper(L, H.skb_change_tail, [reg(ctx), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I64),
  /** bpf_skb_change_head(skb, len, flags): changes packet data. */
  changeHead: (L, c, ctx) => callHelper(L, H.skb_change_head, [reg(ctx), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I64),
  /** bpf_skb_adjust_room(skb, len_diff, mode, flags): changes packet data. */
  adjustRoom: (L, c, ctx) => callHelper(L, H.skb_adjust_room,
    [reg(ctx), intArg(L, arg(L, c, 0), I32), intArg(L, arg(L, c, 1), U32), optionalWide(L, c, 2)], I64),
  /** bpf_skb_change_proto(skb, proto, flags): changes packet data. */
  changeProto: (L, c, ctx) => callHelper(L, H.skb_change_proto, [reg(ctx), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I64),
  /** bpf_skb_pull_data(skb, len): makes `len` bytes directly readable; changes packet data. */
  pullData: (L, c, ctx) => callHelper(L, H.skb_pull_data, [reg(ctx), c.arguments.length ? intArg(L, arg(L, c, 0), U32) : imm(0)], I64),
  /** bpf_skb_vlan_push(skb, proto, tci): `proto` ETH_P_8021Q/8021AD in network order. Changes packet data. */
  vlanPush: (L, c, ctx) => callHelper(L, H.skb_vlan_push, [reg(ctx), intArg(L, arg(L, c, 0), U32), intArg(L, arg(L, c, 1), U32)], I64),
  /** bpf_skb_vlan_pop(skb). Changes packet data. */
  vlanPop: (L, _c, ctx) => callHelper(L, H.skb_vlan_pop, [reg(ctx)], I64),
  /** bpf_clone_redirect(skb, ifindex, flags): a copy goes to the interface; the program's verdict applies to the original. */
  cloneRedirect: (L, c, ctx) => callHelper(L, H.clone_redirect, [reg(ctx), intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I64),
  /** bpf_redirect_peer(ifindex, flags): returns TC_ACT_REDIRECT on success (TC ingress). */
  redirectPeer: (L, c) => callHelper(L, H.redirect_peer, [intArg(L, arg(L, c, 0), U32), optionalWide(L, c, 1)], I32),
  /** bpf_redirect_neigh(ifindex, NULL, 0, flags): returns TC_ACT_REDIRECT on success (TC egress path). */
  redirectNeigh: (L, c) => callHelper(L, H.redirect_neigh, [intArg(L, arg(L, c, 0), U32), imm(0), imm(0), optionalWide(L, c, 1)], I32),
  /** bpf_get_hash_recalc(skb). */
  hashRecalc: (L, _c, ctx) => callHelper(L, H.get_hash_recalc, [reg(ctx)], U32),
  /** bpf_csum_diff(from, from_size, to, to_size, seed): folds the difference of two buffers into `seed`. */
  csumDiff: (L, c) => {
    const from = memArg(L, arg(L, c, 0), undefined, "from");
    const to = memArg(L, arg(L, c, 1), undefined, "to");
    return callHelper(L, H.csum_diff, [reg(from.addr), imm(from.size), reg(to.addr), imm(to.size), optionalWide(L, c, 2)], I64);
  },
};

/** The helpers the verifier counts as changing packet data (bpf_helper_changes_pkt_data). */
const CHANGE_PACKET = new Set(["storeBytes", "l3CsumReplace", "l4CsumReplace", "changeTail", "changeHead", "adjustRoom", "changeProto", "pullData", "cloneRedirect", "vlanPush", "vlanPop"]);

/** Every socket buffer method; kinds pick the ones their program type may call (skbMethods). */
export const SKB_METHODS: Readonly<Record<string, ContextMethod>> = Object.fromEntries(
  Object.entries(LOWERINGS).map(([name, m]) => [name, CHANGE_PACKET.has(name) ? changesPacket(m) : m]),
);

/** Picks methods by name. */
export function skbMethods(...names: (keyof typeof LOWERINGS)[]): Record<string, ContextMethod> {
  return Object.fromEntries(names.map((n) => [n, SKB_METHODS[n]!]));
}

/** What TC and TCX programs (sched_cls) may call. */
export const TC_METHODS = skbMethods(
  "loadBytes", "storeBytes", "l3CsumReplace", "l4CsumReplace", "changeTail", "changeHead", "adjustRoom", "changeProto",
  "pullData", "cloneRedirect", "redirectPeer", "redirectNeigh", "hashRecalc", "csumDiff", "vlanPush", "vlanPop",
);
