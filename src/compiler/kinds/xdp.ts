// `xdp((ctx) => ...)`: SEC("xdp"). The context is struct xdp_md; packet data is read and written in
// place through `ctx.load(layout, offset)`. Returns an XDP action.

import { packetLength, u32Fields, type ProgramKind } from "./kind.js";
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
      len: packetLength({ data: DATA, dataEnd: DATA_END, direct: true }),
    },
  },
  helpers: ["redirect"],
  methods: XDP_METHODS,
  returns: () => ({ min: 0, max: 4, meaning: "an XdpAction: ABORTED 0, DROP 1, PASS 2, TX 3, REDIRECT 4" }),
};
