// `skReuseport((ctx) => ...)`: SEC("sk_reuseport"), run to pick the socket of a SO_REUSEPORT group for
// an incoming connection or datagram. The context is struct sk_reuseport_md (read-only, packet data
// from the transport header in reach in place). `ctx.select(map, key)` picks the socket stored in a
// ReuseportSockArray, SockMap or SockHash. Returns SK_PASS (the selected socket, or the kernel's own
// pick when none was selected) or SK_DROP.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { I64 } from "../types.js";
import { callHelper, mapFd, optionalWide } from "../lower/call-args.js";
import { reg } from "../lower/values.js";
import { u32Fields, type ProgramKind } from "./kind.js";
import { socketKeyAddr, socketMapArg, SK_VERDICT } from "./sock-maps.js";

export const skReuseport: ProgramKind = {
  entry: "skReuseport",
  targets: 0,
  section: () => "sk_reuseport",
  contextTypes: ["SkReuseportContext"],
  context: {
    k: "fields",
    what: "sk_reuseport context",
    fields: u32Fields({ len: [16], ethProtocol: [20], ipProtocol: [24], bindInany: [28], hash: [32] }),
    packet: { data: 0, dataEnd: 8, direct: true, pointerSize: 8 },
  },
  helpers: [],
  returns: () => SK_VERDICT,
  methods: {
    select: (L, c, ctx) => {
      const map = socketMapArg(L, c, 0, "select", ["ReuseportSockArray", "SockMap", "SockHash"]);
      return callHelper(L, H.sk_select_reuseport, [reg(ctx), mapFd(L, map), socketKeyAddr(L, c, 1, map), optionalWide(L, c, 2)], I64);
    },
  },
};
