// `sockOps((ctx) => ...)`: SEC("sockops"), TCP events of the sockets of a cgroup. The context is struct
// bpf_sock_ops: `op` says which event (BPF_SOCK_OPS_*), `args` its arguments, `reply` (and `skTxhash`)
// are written back. Methods: callback flags, set/getsockopt, TCP header options. Returns 1 (0 means the
// operation failed, for the ops that check).

import { HELPER_IDS as H } from "../../sys/helper-ids.js";
import { arg, callHelper, intArg, memArg, optionalWide } from "../lower/call-args.js";
import { imm, reg } from "../lower/values.js";
import { I64, U32 } from "../types.js";
import { ctxU32Flags, destination, getsockopt, setsockopt } from "./cgroup-methods.js";
import { u32Fields, type ProgramKind } from "./kind.js";

const SOCK_OPS = {
  ...u32Fields({
    op: [0], reply: [4, true], family: [20], remoteIp4: [24], localIp4: [28], remotePort: [64], localPort: [68],
    isFullsock: [72], sndCwnd: [76], srttUs: [80], cbFlags: [84], state: [88], rttMin: [92], sndSsthresh: [96],
    rcvNxt: [100], sndNxt: [104], sndUna: [108], mssCache: [112], ecnFlags: [116], rateDelivered: [120],
    rateIntervalUs: [124], packetsOut: [128], retransOut: [132], totalRetrans: [136], segsIn: [140],
    dataSegsIn: [144], segsOut: [148], dataSegsOut: [152], lostOut: [156], sackedOut: [160], skTxhash: [164, true],
    skbLen: [208], skbTcpFlags: [212],
  }),
  args: { offset: 4, size: 4, count: 4 },
  remoteIp6: { offset: 32, size: 4, count: 4 },
  localIp6: { offset: 48, size: 4, count: 4 },
  bytesReceived: { offset: 168, size: 8 },
  bytesAcked: { offset: 176, size: 8 },
} as const;

export const sockOps: ProgramKind = {
  entry: "sockOps",
  targets: 0,
  section: () => "sockops",
  contextTypes: ["SockOpsContext"],
  context: { k: "fields", what: "sock_ops context", fields: SOCK_OPS },
  // No "task": sock_ops runs in softirq context too, where the current task is unrelated.
  helpers: [],
  returns: () => ({ min: 0, max: 1, meaning: "1 on success; 0 reports a failure for the ops that check it" }),
  methods: {
    /** bpf_sock_ops_cb_flags_set: which optional callbacks (RTT, state, header options...) run. */
    setCbFlags: (L, c, ctx) => callHelper(L, H.sock_ops_cb_flags_set, [reg(ctx), intArg(L, arg(L, c, 0), U32)], I64),
    setsockopt,
    getsockopt,
    /** bpf_load_hdr_opt: `buf` holds the option to search for; it is overwritten with the option found. */
    loadHdrOpt: (L, c, ctx) => {
      const { addr, size } = destination(L, arg(L, c, 0), "ctx.loadHdrOpt");
      return callHelper(L, H.load_hdr_opt, [reg(ctx), reg(addr), imm(size), optionalWide(L, c, 1)], I64);
    },
    /** bpf_store_hdr_opt: writes the whole option (kind, length, data) into the outgoing header. */
    storeHdrOpt: (L, c, ctx) => {
      const { addr, size } = memArg(L, arg(L, c, 0), undefined, "header option");
      return callHelper(L, H.store_hdr_opt, [reg(ctx), reg(addr), imm(size), optionalWide(L, c, 1)], I64);
    },
    /** bpf_reserve_hdr_opt: reserves `len` bytes of header options for the WRITE_HDR_OPT callback. */
    reserveHdrOpt: ctxU32Flags(H.reserve_hdr_opt),
  },
};
