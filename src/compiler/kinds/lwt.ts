// `lwtIn`, `lwtOut`, `lwtXmit((ctx) => ...)`: SEC("lwt_in"), SEC("lwt_out"), SEC("lwt_xmit"), programs
// on a route with BPF encapsulation (`ip route ... encap bpf in|out|xmit`). The context is struct
// __sk_buff (mark and priority writable; the socket fields and tc_classid unavailable), packet data read
// in place (only lwt_xmit may write it). Return BPF_OK 0, BPF_DROP 2, BPF_REDIRECT 7 (xmit) or
// BPF_LWT_REROUTE 128 (in, xmit): LwtAction. The verifier leaves the value to the kernel, which drops
// on anything else, so constants are not range-checked.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { arg, callHelper, intArg, memArg } from "../lower/call-args.js";
import { reg } from "../lower/values.js";
import { I64, U32 } from "../types.js";
import type { ContextMethod, ProgramKind } from "./kind.js";
import { changesPacket, skbMethods } from "./skb-methods.js";
import { skbContext } from "./skb.js";

const NO_SOCKET = "is not available to lwt programs (the kernel's lwt context access check refuses it)";
const context = skbContext(true, {
  tcIndex: { writable: false }, tcClassid: { writable: false, unavailable: `ctx.tcClassid ${NO_SOCKET}` },
  family: { unavailable: `ctx.family ${NO_SOCKET}` }, remoteIp4: { unavailable: `ctx.remoteIp4 ${NO_SOCKET}` },
  localIp4: { unavailable: `ctx.localIp4 ${NO_SOCKET}` }, remotePort: { unavailable: `ctx.remotePort ${NO_SOCKET}` },
  localPort: { unavailable: `ctx.localPort ${NO_SOCKET}` },
});

/** bpf_lwt_push_encap(skb, type, hdr, len): pushes `hdr` (BPF_LWT_ENCAP_IP: an IPv4/IPv6 header and what follows). */
const pushEncap: ContextMethod = changesPacket((L, c, ctx) => {
  const { addr, size } = memArg(L, arg(L, c, 1), undefined, "encapsulation header");
  return callHelper(L, H.lwt_push_encap, [reg(ctx), intArg(L, arg(L, c, 0), U32), reg(addr), { imm: BigInt(size) }], I64);
});

const READ = skbMethods("loadBytes", "pullData", "csumDiff", "hashRecalc");

const lwt = (entry: string, section: string, methods: Record<string, ContextMethod>, helpers: ProgramKind["helpers"]): ProgramKind => ({
  entry, targets: 0, section: () => section, contextTypes: ["LwtContext", "LwtInContext", "LwtXmitContext"], context, helpers, methods,
});

export const lwtIn = lwt("lwtIn", "lwt_in", { ...READ, pushEncap }, []);
export const lwtOut = lwt("lwtOut", "lwt_out", READ, []);
export const lwtXmit = lwt("lwtXmit", "lwt_xmit", {
  ...READ, pushEncap, ...skbMethods("storeBytes", "changeHead", "changeTail", "l3CsumReplace", "l4CsumReplace"),
}, ["redirect"]);
