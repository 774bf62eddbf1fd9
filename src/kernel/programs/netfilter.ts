// The netfilter program kind. Compiler side: src/compiler/kinds/netfilter.ts.

import type { Program } from "../program.js";
import type { nf_hook_state, sk_buff } from "../vmlinux.js";

/**
 * Netfilter context (struct bpf_nf_ctx): the hook state and the packet, kernel structs whose fields are
 * read directly (CO-RE). Packet bytes: `bpf.probeReadKernel(hdr, skb.head + BigInt(skb.network_header))`.
 */
export interface NetfilterContext {
  /** struct nf_hook_state: `hook` (NF_INET_*), `pf`, `in`/`out` devices, `net`. */
  readonly state: nf_hook_state;
  /** struct sk_buff of the packet. */
  readonly skb: sk_buff;
}

/** `SEC("netfilter")`: return {@link NfAction}.DROP (0) or ACCEPT (1). */
export declare function netfilter(handler: (ctx: NetfilterContext) => number): Program<"netfilter">;

/** Netfilter verdicts a BPF program may return. */
export declare const NfAction: { readonly DROP: 0; readonly ACCEPT: 1 };
