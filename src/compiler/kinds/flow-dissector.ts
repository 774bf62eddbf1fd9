// `flowDissector((ctx) => ...)`: SEC("flow_dissector"), attached to a network namespace, replaces the
// kernel's flow dissector: it parses the packet in place (the network header is at
// `ctx.flowKeys.nhoff`) and fills `ctx.flowKeys` (struct bpf_flow_keys, writable). The context
// is struct __sk_buff, of which this kind may read only the packet and the flow keys. Returns a
// FlowDissectorAction: OK 0 (keys filled), DROP 2 (dissection failed), CONTINUE 129 (let the kernel's
// own dissector run).

import { array, struct, u16, u32, u8, union } from "../../types/index.js";
import { tyOfLayout } from "../lower/function.js";
import { reg } from "../lower/values.js";
import { packetLength, type ProgramKind } from "./kind.js";

/** struct bpf_flow_keys (UAPI), 56 bytes. */
export const FLOW_KEYS = struct({
  nhoff: u16, thoff: u16, addrProto: u16, isFrag: u8, isFirstFrag: u8, isEncap: u8, ipProto: u8,
  nProto: u16, sport: u16, dport: u16,
  addr: union({ ipv4: struct({ src: u32, dst: u32 }), ipv6: struct({ src: array(u32, 4), dst: array(u32, 4) }) }),
  flags: u32, flowLabel: u32,
}, { name: "bpf_flow_keys" });

/** struct __sk_buff offsets this kind reads. */
const DATA = 76, DATA_END = 80, FLOW_KEYS_PTR = 144;

export const flowDissector: ProgramKind = {
  entry: "flowDissector",
  targets: 0,
  section: () => "flow_dissector",
  contextTypes: ["FlowDissectorContext"],
  context: {
    k: "fields",
    what: "flow dissector context",
    fields: {},
    packet: { data: DATA, dataEnd: DATA_END, direct: true },
    computed: {
      // skb->len is not readable here: the packet in reach, data_end - data.
      len: packetLength({ data: DATA, dataEnd: DATA_END, direct: true }),
      flowKeys: (L, ctx) => {
        const keys = L.b.reg();
        L.b.emit({ op: "load", size: 8, dst: keys, base: ctx, offset: FLOW_KEYS_PTR, nonNull: true });
        return { ty: tyOfLayout(FLOW_KEYS), op: reg(keys) };
      },
    },
  },
  helpers: [],
};
