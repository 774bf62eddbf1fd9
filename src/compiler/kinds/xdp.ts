// `xdp((ctx) => ...)`: SEC("xdp"). The context is struct xdp_md; packet data is read and written in
// place through `ctx.load(layout, offset)`. Returns an XDP action.

import { U32 } from "../types.js";
import { reg } from "../lower/values.js";
import { u32Fields, type ProgramKind } from "./kind.js";
import { XDP_METHODS } from "./xdp-methods.js";

/** struct xdp_md offsets of the packet pointers. */
const DATA = 0, DATA_END = 4;

export const xdp: ProgramKind = {
  entry: "xdp",
  targets: 0,
  section: () => "xdp",
  contextTypes: ["XdpContext"],
  context: {
    k: "fields",
    what: "XDP context",
    fields: {
      ...u32Fields({ ingressIfindex: [12], rxQueueIndex: [16] }),
      egressIfindex: { offset: 20, size: 4, unavailable: "ctx.egressIfindex is only readable by XDP programs run from a devmap entry: declare them with xdpDevmap(...)" },
    },
    packet: { data: DATA, dataEnd: DATA_END, direct: true },
    computed: {
      // struct xdp_md has no length: data_end - data.
      len: (L, ctx) => {
        const data = L.b.reg(), end = L.b.reg(), len = L.b.reg();
        L.b.emit({ op: "load", size: 4, dst: data, base: ctx, offset: DATA });
        L.b.emit({ op: "load", size: 4, dst: end, base: ctx, offset: DATA_END });
        L.b.emit({ op: "alu", alu: "sub", bits: 64, dst: len, a: reg(end), b: reg(data) });
        return { ty: U32, op: reg(len) };
      },
    },
  },
  helpers: ["redirect"],
  methods: XDP_METHODS,
  returns: () => ({ min: 0, max: 4, meaning: "an XdpAction: ABORTED 0, DROP 1, PASS 2, TX 3, REDIRECT 4" }),
};
