// Context methods of XDP programs: moving the packet's start and end (adjust head/tail/meta) and the
// copying accessors that also reach the fragments of a multi-buffer (frags) packet. adjustHead/Tail/
// Meta change packet data: every earlier `ctx.load` view is stale after them (the verifier rejects its
// use; load the header again).

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { arg, callHelper, intArg, memArg, sizedMemArg } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import { I32, I64, U32, U64 } from "../types.js";
import type { ContextMethod } from "./kind.js";
import { changesPacket } from "./skb-methods.js";

const adjust = (helper: number): ContextMethod => changesPacket((L, c, ctx) => callHelper(L, helper, [reg(ctx), intArg(L, arg(L, c, 0), I32)], I64));

/** Methods of every XDP program (frags or not). */
export const XDP_METHODS: Readonly<Record<string, ContextMethod>> = {
  /** bpf_xdp_adjust_head(ctx, delta): moves the start by `delta` bytes (negative grows the packet). */
  adjustHead: adjust(H.xdp_adjust_head),
  /** bpf_xdp_adjust_tail(ctx, delta). */
  adjustTail: adjust(H.xdp_adjust_tail),
  /** bpf_xdp_adjust_meta(ctx, delta). */
  adjustMeta: adjust(H.xdp_adjust_meta),
  /** bpf_xdp_get_buff_len(ctx): the whole packet's length, fragments included. */
  bufLen: (L, _c, ctx) => callHelper(L, H.xdp_get_buff_len, [reg(ctx)], U64),
  /** bpf_xdp_load_bytes(ctx, offset, buf, len). */
  loadBytes: (L, c, ctx) => {
    const { addr, size } = memArg(L, arg(L, c, 1), undefined, "destination");
    return callHelper(L, H.xdp_load_bytes, [reg(ctx), intArg(L, arg(L, c, 0), U32), reg(addr), imm(size)], I64);
  },
  /** bpf_xdp_store_bytes(ctx, offset, buf, len). */
  storeBytes: (L, c, ctx) => {
    const off = intArg(L, arg(L, c, 0), U32);
    const { addr, size } = sizedMemArg(L, arg(L, c, 1), "ctx.storeBytes");
    return callHelper(L, H.xdp_store_bytes, [reg(ctx), off, reg(addr), imm(size)], I64);
  },
};
