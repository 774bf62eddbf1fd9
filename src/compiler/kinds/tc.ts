// `tc((ctx) => ...)`: SEC("tc"), a sched_cls classifier in direct-action mode (TC or TCX). The context
// is struct __sk_buff with packet data read and written in place. Returns a TcAction.

import type { ProgramKind } from "./kind.js";
import { TC_METHODS } from "./skb-methods.js";
import { skbContext } from "./skb.js";

export const tc: ProgramKind = {
  entry: "tc",
  targets: 0,
  section: () => "tc",
  contextTypes: ["SkBuffContext", "TcContext"],
  context: skbContext(true),
  helpers: ["redirect"],
  methods: TC_METHODS,
  returns: () => ({ min: -1, max: 8, meaning: "a TcAction (-1 = TC_ACT_UNSPEC ... 8 = TC_ACT_TRAP)" }),
};
