// `cgroupSkb("ingress" | "egress", (ctx) => ...)`: SEC("cgroup_skb/<direction>"). The context is struct
// __sk_buff, packet data readable in place. Returns 1 to allow, 0 to drop (egress also 2 and 3: the same
// with congestion notification).

import type { ProgramKind } from "./kind.js";
import { skbContext } from "./skb.js";

export const cgroupSkb: ProgramKind = {
  entry: "cgroupSkb",
  targets: 1,
  section: ([t]) => `cgroup_skb/${t}`,
  contextTypes: ["SkBuffContext"],
  context: skbContext(true),
  helpers: [],
  returns: ([t]) => t === "egress"
    ? { min: 0, max: 3, meaning: "1 allows, 0 drops; 2 and 3 do the same and notify congestion" }
    : { min: 0, max: 1, meaning: "1 allows, 0 drops" },
};
