// `socketFilter((ctx) => ...)`: SEC("socket"), attached to a socket with SO_ATTACH_BPF. The context is
// struct __sk_buff without direct packet access (`ctx.load` copies with bpf_skb_load_bytes). Returns
// the number of bytes to keep (0 drops the packet).

import type { ProgramKind } from "./kind.js";
import { skbContext } from "./skb.js";

export const socketFilter: ProgramKind = {
  entry: "socketFilter",
  targets: 0,
  section: () => "socket",
  contextTypes: ["SkBuffContext"],
  context: skbContext(false),
  helpers: [],
};
