// `skMsg((ctx) => ...)`: SEC("sk_msg"), run for each sendmsg/sendfile on a socket in a SockMap/SockHash
// the program is attached to. The context is struct sk_msg_md (read-only; `data`/`data_end` are 8-byte
// pointers to the part of the message in reach, see `ctx.pullData`). Returns SK_PASS or SK_DROP;
// `ctx.redirect(map, key)` before SK_PASS sends the data to another socket of the map.

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { I64, U32 } from "../types.js";
import { arg, callHelper, intArg, optionalWide } from "../lower/call-args.js";
import { reg } from "../lower/values.js";
import { packetLength, u32Fields, type ContextMethod, type ProgramKind } from "./kind.js";
import { ip6Field, redirectMethod, REDIRECT, SK_VERDICT } from "./sock-maps.js";

/** struct sk_msg_md offsets of the packet pointers (__bpf_md_ptr: 8 bytes each). */
const DATA = 0, DATA_END = 8;

/** A helper taking the context and `n` u32 arguments. */
const u32s = (helper: number, n: number): ContextMethod => (L, c, ctx) =>
  callHelper(L, helper, [reg(ctx), ...Array.from({ length: n }, (_, i) => intArg(L, arg(L, c, i), U32))], I64);

export const skMsg: ProgramKind = {
  entry: "skMsg",
  targets: 0,
  section: () => "sk_msg",
  contextTypes: ["SkMsgContext"],
  context: {
    k: "fields",
    what: "sk_msg context",
    fields: u32Fields({ family: [16], remoteIp4: [20], localIp4: [24], remotePort: [60], localPort: [64], size: [68] }),
    packet: { data: DATA, dataEnd: DATA_END, direct: true, pointerSize: 8 },
    computed: {
      remoteIp6: ip6Field(28),
      localIp6: ip6Field(44),
      // The bytes in reach: data_end - data.
      len: packetLength({ data: DATA, dataEnd: DATA_END, direct: true, pointerSize: 8 }),
    },
  },
  helpers: [],
  returns: () => SK_VERDICT,
  methods: {
    redirect: redirectMethod(...REDIRECT.msg),
    applyBytes: u32s(H.msg_apply_bytes, 1),
    corkBytes: u32s(H.msg_cork_bytes, 1),
    pullData: (L, c, ctx) => callHelper(L, H.msg_pull_data, [reg(ctx), intArg(L, arg(L, c, 0), U32), intArg(L, arg(L, c, 1), U32), optionalWide(L, c, 2)], I64),
    pushData: (L, c, ctx) => callHelper(L, H.msg_push_data, [reg(ctx), intArg(L, arg(L, c, 0), U32), intArg(L, arg(L, c, 1), U32), optionalWide(L, c, 2)], I64),
    popData: (L, c, ctx) => callHelper(L, H.msg_pop_data, [reg(ctx), intArg(L, arg(L, c, 0), U32), intArg(L, arg(L, c, 1), U32), optionalWide(L, c, 2)], I64),
  },
};
