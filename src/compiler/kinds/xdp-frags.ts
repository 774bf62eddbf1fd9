// `xdpFrags((ctx) => ...)`: SEC("xdp.frags"), an XDP program that accepts multi-buffer packets (jumbo
// frames, GRO): `ctx.load` and `ctx.len` see the first buffer only; `ctx.bufLen()`, `ctx.loadBytes` and
// `ctx.storeBytes` reach the whole packet. Context, methods and actions as `xdp`.

import type { ProgramKind } from "./kind.js";
import { xdp } from "./xdp.js";

export const xdpFrags: ProgramKind = { ...xdp, entry: "xdpFrags", section: () => "xdp.frags" };
