// freplace (extension) programs. Compiler side: src/compiler/kinds/freplace.ts.

import type { Program } from "../program.js";
import type { DeviceContext, SockOpsContext, SysctlContext } from "./cgroup.js";
import type { LwtContext, LwtInContext, LwtXmitContext } from "./lwt.js";
import type { NetfilterContext } from "./netfilter.js";
import type { PerfEventContext } from "./perf-event.js";
import type { SkBuffContext } from "./skb.js";
import type { FlowDissectorContext, SkLookupContext, SkMsgContext } from "./sockets.js";
import type { TcContext } from "./tc.js";
import type { XdpContext } from "./xdp.js";

/** The program kinds a freplace program can extend, by their `tsbpf/kernel` name, and the context each gives. */
export interface FreplaceTargets {
  xdp: XdpContext;
  tc: TcContext;
  socketFilter: SkBuffContext;
  cgroupSkb: SkBuffContext;
  lwtIn: LwtInContext;
  lwtOut: LwtContext;
  lwtXmit: LwtXmitContext;
  flowDissector: FlowDissectorContext;
  sockOps: SockOpsContext;
  skMsg: SkMsgContext;
  skLookup: SkLookupContext;
  cgroupSysctl: SysctlContext;
  cgroupDevice: DeviceContext;
  perfEvent: PerfEventContext;
  netfilter: NetfilterContext;
}

/**
 * `SEC("freplace/<fn>")`: an extension program that replaces global function `fn` of an already loaded
 * program of kind `target` (the program itself when `fn` is its own name, or a global subprogram it calls).
 * The kernel runs it as a program of the target's type, so `ctx` and the helpers are the target kind's. The
 * replaced function must be `int fn(struct <ctx> *ctx)` (e.g. `int verdict(struct xdp_md *ctx)`), which is
 * the prototype this program gets; a function with more arguments is refused at load. The return value goes
 * to the replaced function's caller, unchecked. Load with the target:
 * `loadCollection(spec, { freplace: { name: { target: loadedProgram } } })`, then `attach()`.
 */
export declare function freplace<K extends keyof FreplaceTargets>(fn: string, target: K, handler: (ctx: FreplaceTargets[K]) => number): Program<"freplace">;
