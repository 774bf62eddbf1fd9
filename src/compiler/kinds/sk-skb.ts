// `skSkb("stream_parser" | "stream_verdict" | "verdict", (ctx) => ...)`: SEC("sk_skb/<kind>"), run on
// data received by sockets in a SockMap/SockHash the program is attached to. The context is struct
// __sk_buff with packet data in reach in place (`ctx.pullData(n)` brings more); `mark` and `tc_classid`
// are not readable, `priority` and `tc_index` are writable. A parser returns the length of the next
// message (0: need more data); a verdict returns SK_PASS or SK_DROP, `ctx.redirect(map, key)` before
// SK_PASS hands the data to another socket of the map.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { I64, U32 } from "../types.js";
import { arg, callHelper, intArg } from "../lower/call-args.js";
import { reg } from "../lower/values.js";
import type { ProgramKind } from "./kind.js";
import { skbContext } from "./skb.js";
import { redirectMethod, REDIRECT, SK_VERDICT } from "./sock-maps.js";

const NOT_IN_SK_SKB = "is not readable by sk_skb programs (the kernel's context check refuses it)";

export const skSkb: ProgramKind = {
  entry: "skSkb",
  targets: 1,
  section: ([t]) => `sk_skb/${t}`,
  contextTypes: ["SkBuffContext"],
  context: skbContext(true, {
    mark: { writable: false, unavailable: `ctx.mark ${NOT_IN_SK_SKB}` },
    tcClassid: { writable: false, unavailable: `ctx.tcClassid ${NOT_IN_SK_SKB}` },
  }),
  helpers: [],
  returns: ([t]) => (t === "stream_parser" ? undefined : SK_VERDICT),
  methods: {
    redirect: redirectMethod(...REDIRECT.skb),
    pullData: (L, c, ctx) => callHelper(L, H.skb_pull_data, [reg(ctx), intArg(L, arg(L, c, 0), U32)], I64),
  },
};
