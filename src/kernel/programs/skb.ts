// Program kinds whose context is a socket buffer (struct __sk_buff): TC, socket filters, cgroup skb.
// Compiler side: src/compiler/kinds/{skb,tc,socket-filter,cgroup-skb}.ts.

import type { u32 } from "../index.js";
import type { PacketAccess, Program } from "../program.js";
import type { TcContext } from "./tc.js";

/** Socket buffer context (struct __sk_buff) for TC, socket filter and cgroup skb programs. */
export interface SkBuffContext extends PacketAccess {
  readonly pktType: u32;
  mark: u32;
  readonly queueMapping: u32;
  readonly protocol: u32;
  readonly vlanPresent: u32;
  readonly vlanTci: u32;
  readonly vlanProto: u32;
  priority: u32;
  readonly ingressIfindex: u32;
  readonly ifindex: u32;
  tcIndex: u32;
  readonly hash: u32;
  tcClassid: u32;
  readonly napiId: u32;
  readonly family: u32;
  readonly remoteIp4: u32;
  readonly localIp4: u32;
  readonly remotePort: u32;
  readonly localPort: u32;
}

/** `SEC("tc")` (sched_cls, direct action): return a {@link TcAction}. */
export declare function tc(handler: (ctx: TcContext) => number): Program<"tc">;
/** `SEC("socket")`: return the number of bytes to keep (0 drops). */
export declare function socketFilter(handler: (ctx: SkBuffContext) => number): Program<"socket">;
/** `SEC("cgroup_skb/ingress|egress")`: return 1 to allow, 0 to drop (egress: 2 and 3 also notify congestion). */
export declare function cgroupSkb(direction: "ingress" | "egress", handler: (ctx: SkBuffContext) => number): Program<"cgroup_skb">;

/** TC verdicts. */
export declare const TcAction: { readonly OK: 0; readonly RECLASSIFY: 1; readonly SHOT: 2; readonly PIPE: 3; readonly STOLEN: 4; readonly REDIRECT: 7 };
