// Lightweight tunnel programs (routes with `encap bpf in|out|xmit`). Compiler side: src/compiler/kinds/lwt.ts.

import type { i64, u32 } from "../index.js";
import type { Program } from "../program.js";
import type { SkBuffContext } from "./skb.js";
import type { TcContext } from "./tc.js";

/**
 * Context of lwt_out programs (and the base of lwt_in/lwt_xmit): struct __sk_buff without the socket
 * fields and tc_classid; `mark` and `priority` writable; packet data readable with `ctx.load` (only
 * lwt_xmit may write it).
 */
export interface LwtContext
  extends Omit<SkBuffContext, "tcIndex" | "tcClassid" | "family" | "remoteIp4" | "localIp4" | "remotePort" | "localPort">,
    Pick<TcContext, "loadBytes" | "pullData" | "csumDiff" | "hashRecalc"> {
  readonly tcIndex: u32;
}

/** Context of lwt_in programs: {@link LwtContext} plus `pushEncap`. */
export interface LwtInContext extends LwtContext {
  /**
   * bpf_lwt_push_encap: pushes `header` (type LwtEncap.IP: an IPv4/IPv6 header, its total length and
   * checksum already right, and what follows it) in front of the packet. Changes packet data.
   */
  pushEncap(type: u32, header: object): i64;
}

/** Context of lwt_xmit programs: {@link LwtInContext} plus the helpers that rewrite the packet. */
export interface LwtXmitContext
  extends LwtInContext, Pick<TcContext, "storeBytes" | "changeHead" | "changeTail" | "l3CsumReplace" | "l4CsumReplace"> {}

/** `SEC("lwt_in")`: runs on input for packets matching the route; return an {@link LwtAction}. */
export declare function lwtIn(handler: (ctx: LwtInContext) => number): Program<"lwt_in">;
/** `SEC("lwt_out")`: runs on output of locally generated packets matching the route. */
export declare function lwtOut(handler: (ctx: LwtContext) => number): Program<"lwt_out">;
/** `SEC("lwt_xmit")`: runs before transmission on the route's device; may rewrite, encapsulate or redirect. */
export declare function lwtXmit(handler: (ctx: LwtXmitContext) => number): Program<"lwt_xmit">;

/** LWT verdicts: OK continues, DROP drops, REDIRECT (xmit, after bpf.redirect), REROUTE (in, xmit: after pushEncap). */
export declare const LwtAction: { readonly OK: 0; readonly DROP: 2; readonly REDIRECT: 7; readonly REROUTE: 128 };
/** `type` of {@link LwtInContext.pushEncap}: BPF_LWT_ENCAP_SEG6 0, SEG6_INLINE 1, IP 2. */
export declare const LwtEncap: { readonly SEG6: 0; readonly SEG6_INLINE: 1; readonly IP: 2 };
