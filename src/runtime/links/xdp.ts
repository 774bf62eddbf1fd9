// XDP attachment through a BPF link on an interface (kernel 5.9+), in the mode the caller picks.

import { TsbpfError } from "../../errors.js";
import { linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE } from "../../sys/constants.js";
import { sys } from "../../sys/seam.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";

/** XDP attach mode: generic (skb), native driver, or hardware offload. */
export type XdpMode = "generic" | "driver" | "offload";

const XDP_FLAGS: Record<XdpMode, number> = { generic: 1 << 1, driver: 1 << 2, offload: 1 << 3 };

/** Resolve an interface name or index to an index, with a clear error for a missing interface. */
export function interfaceIndex(iface: string | number): number {
  if (typeof iface === "number") return iface;
  try {
    return sys().ifNameToIndex(iface);
  } catch (e) {
    throw new TsbpfError("NO_SUCH_INTERFACE", `network interface "${iface}" does not exist`, { cause: e });
  }
}

/** Attach an XDP program to an interface. */
export function attachXdp(prog: Program, iface: string | number, mode?: XdpMode): Link {
  const ifindex = interfaceIndex(iface);
  const description = `xdp on ${typeof iface === "string" ? iface : "ifindex " + iface}${mode ? ` (${mode})` : ""}`;
  const fd = linkCreate({
    context: `attach program "${prog.name}" to ${description}`,
    progFd: prog.fd.value, target: ifindex, attachType: ATTACH_TYPE.XDP, flags: mode ? XDP_FLAGS[mode] : 0,
  });
  return new Link(fd, description);
}
