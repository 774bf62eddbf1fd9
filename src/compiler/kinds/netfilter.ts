// `netfilter((ctx) => ...)`: SEC("netfilter"), a program on a netfilter hook (attached with a netfilter
// link: family, hook, priority). The context is struct bpf_nf_ctx: `ctx.state` (struct nf_hook_state)
// and `ctx.skb` (struct sk_buff), trusted BTF pointers whose fields are direct CO-RE loads; packet
// bytes are read with bpf.probeReadKernel from skb.head. Returns NF_DROP 0 or NF_ACCEPT 1.

import type { VReg } from "../ir.js";
import type { Lowerer } from "../lower/function.js";
import { reg, type Value } from "../lower/values.js";
import type { Ty } from "../types.js";
import type { ProgramKind } from "./kind.js";

/** A u64 pointer slot of struct bpf_nf_ctx as a trusted BTF pointer to `struct name`. */
const pointer = (offset: number, name: string) => (L: Lowerer, ctx: VReg): Value => {
  const dst = L.b.reg();
  L.b.emit({ op: "load", size: 8, dst, base: ctx, offset, nonNull: true });
  const ty: Ty = { k: "kptr", name, btfKind: "struct", btf: true };
  return { ty, op: reg(dst) };
};

export const netfilter: ProgramKind = {
  entry: "netfilter",
  targets: 0,
  section: () => "netfilter",
  contextTypes: ["NetfilterContext"],
  context: {
    k: "fields",
    what: "netfilter context",
    fields: {},
    computed: { state: pointer(0, "nf_hook_state"), skb: pointer(8, "sk_buff") },
  },
  helpers: ["probe"],
  returns: () => ({ min: 0, max: 1, meaning: "NfAction.DROP 0 or NfAction.ACCEPT 1" }),
};
