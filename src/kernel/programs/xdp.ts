// The XDP program kind. Compiler side: src/compiler/kinds/xdp.ts.

import type { u32 } from "../index.js";
import type { PacketAccess, Program } from "../program.js";

/** XDP context (struct xdp_md). */
export interface XdpContext extends PacketAccess {
  readonly ingressIfindex: u32;
  readonly rxQueueIndex: u32;
  readonly egressIfindex: u32;
}

/** `SEC("xdp")`: return an {@link XdpAction} (a constant outside 0..4 is a compile error). */
export declare function xdp(handler: (ctx: XdpContext) => number): Program<"xdp">;

/** XDP verdicts. */
export declare const XdpAction: { readonly ABORTED: 0; readonly DROP: 1; readonly PASS: 2; readonly TX: 3; readonly REDIRECT: 4 };
