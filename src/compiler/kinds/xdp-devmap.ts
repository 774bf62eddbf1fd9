// `xdpDevmap((ctx) => ...)`: SEC("xdp/devmap"), an XDP program a DevMap entry runs on packets redirected
// to it, just before they leave the entry's interface (userspace puts the program's fd in the entry:
// a DevMap declared with `valueSize: 8`). `ctx.egressIfindex` is that interface. Returns PASS (send),
// DROP or ABORTED; the kernel drops the packet on any other action.

import type { ProgramKind } from "./kind.js";
import { xdp } from "./xdp.js";

const shape = xdp.context.k === "fields" ? xdp.context : undefined;

export const xdpDevmap: ProgramKind = {
  ...xdp,
  entry: "xdpDevmap",
  section: () => "xdp/devmap",
  context: { ...shape!, fields: { ...shape!.fields, egressIfindex: { offset: 20, size: 4 } } },
  returns: () => ({ min: 0, max: 2, meaning: "XdpAction.ABORTED 0, DROP 1 or PASS 2 (send the packet)" }),
};
