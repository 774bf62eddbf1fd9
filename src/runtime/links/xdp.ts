// XDP attachment: a BPF link on an interface (kernel 5.9+), or netlink RTM_SETLINK IFLA_XDP when links
// are unavailable or asked for; generic/driver/offload modes; replacing the attached program.

import { MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate } from "../../sys/bpf.js";
import { ATTACH_TYPE, LINK_TYPE } from "../../sys/constants.js";
import { fdValue, type Fd, type FdLike } from "../../sys/fd.js";
import {
  IFLA,
  IFLA_XDP,
  ifinfomsg,
  NlAttrs,
  nla,
  RTM,
  withRouteNetlink,
  XDP_ATTACHED,
  XDP_FLAGS,
} from "../../sys/netlink.js";
import { sys } from "../../sys/seam.js";
import { kernelAtLeast } from "../../sys/system.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import { Link } from "./link.js";

/** XDP attach mode: generic (skb), native driver, or hardware offload. */
export type XdpMode = "generic" | "driver" | "offload";

const MODE_FLAGS: Record<XdpMode, number> = {
  generic: XDP_FLAGS.SKB_MODE,
  driver: XDP_FLAGS.DRV_MODE,
  offload: XDP_FLAGS.HW_MODE,
};

/** Options of {@link attachXdp}. */
export interface XdpAttachOptions {
  readonly mode?: XdpMode;
  /**
   * "link": a BPF link (fails on kernels before 5.9); "netlink": RTM_SETLINK, which the interface
   * keeps until detached. Default: a link, netlink where links are not supported.
   */
  readonly mechanism?: "link" | "netlink";
  /**
   * Netlink only: replace the program attached now. `true` replaces whatever is attached; a program
   * or fd replaces only that program (IFLA_XDP_EXPECTED_FD, kernel 5.7+), failing with EEXIST otherwise.
   */
  readonly replace?: boolean | Program | FdLike;
}

/** Resolve an interface name or index to an index, with a clear error for a missing interface. */
export function interfaceIndex(iface: string | number): number {
  if (typeof iface === "number") {
    if (!Number.isInteger(iface) || iface <= 0) {
      throw new TsbpfError("NO_SUCH_INTERFACE", `network interface index ${String(iface)} is not a positive integer`);
    }
    return iface;
  }
  try {
    return sys().ifNameToIndex(iface);
  } catch (e) {
    throw new TsbpfError("NO_SUCH_INTERFACE", `network interface "${iface}" does not exist`, { cause: e });
  }
}

function describeIface(iface: string | number): string {
  return typeof iface === "string" ? iface : `ifindex ${iface}`;
}

function progFdOf(p: Program | FdLike): number {
  return typeof p === "object" && "spec" in p ? p.fd.value : fdValue(p);
}

/** What netlink reports as attached at an interface's XDP hook. */
export interface XdpState {
  /** How the program is attached ("none" when nothing is). */
  readonly mode: "none" | XdpMode | "multi";
  /** The program id (of the single attached program; 0 when none or in multi mode). */
  readonly progId: number;
  readonly genericProgId: number;
  readonly driverProgId: number;
  readonly offloadProgId: number;
}

/**
 * The XDP programs attached at an interface, from RTM_GETLINK (sees link and netlink attachments).
 *
 * @example
 * xdpState("eth0").progId // 0 when nothing is attached
 */
export function xdpState(iface: string | number): XdpState {
  const ifindex = interfaceIndex(iface);
  const replies = withRouteNetlink((nl) =>
    nl.request("RTM_GETLINK", RTM.GETLINK, 0, ifinfomsg(ifindex), [], `query XDP state of ${describeIface(iface)}`),
  );
  const msg = replies.find((m) => m.type === RTM.NEWLINK);
  const xdp = msg ? new NlAttrs(msg.payload.subarray(16)).nested(IFLA.XDP) : undefined;
  const attached = xdp?.u8(IFLA_XDP.ATTACHED) ?? XDP_ATTACHED.NONE;
  const modes: Record<number, XdpState["mode"]> = {
    [XDP_ATTACHED.NONE]: "none", [XDP_ATTACHED.DRV]: "driver", [XDP_ATTACHED.SKB]: "generic",
    [XDP_ATTACHED.HW]: "offload", [XDP_ATTACHED.MULTI]: "multi",
  };
  const progId = xdp?.u32(IFLA_XDP.PROG_ID) ?? 0;
  const mode = modes[attached] ?? "none";
  return {
    mode,
    progId,
    genericProgId: xdp?.u32(IFLA_XDP.SKB_PROG_ID) ?? (mode === "generic" ? progId : 0),
    driverProgId: xdp?.u32(IFLA_XDP.DRV_PROG_ID) ?? (mode === "driver" ? progId : 0),
    offloadProgId: xdp?.u32(IFLA_XDP.HW_PROG_ID) ?? (mode === "offload" ? progId : 0),
  };
}

/** RTM_SETLINK IFLA_XDP: set (fd ≥ 0) or clear (fd -1) the XDP program of an interface. */
export function xdpSetNetlink(ifindex: number, fd: number, flags: number, expectedFd: number | undefined, context: string): void {
  const xdp = [nla.s32(IFLA_XDP.FD, fd), nla.u32(IFLA_XDP.FLAGS, flags)];
  if (expectedFd !== undefined) xdp.push(nla.s32(IFLA_XDP.EXPECTED_FD, expectedFd));
  withRouteNetlink((nl) => nl.request("RTM_SETLINK", RTM.SETLINK, 0, ifinfomsg(ifindex), [nla.nest(IFLA.XDP, xdp)], context));
}

/**
 * The kernel's answer when a mode is not available on an interface: EOPNOTSUPP for driver mode on a
 * driver without native XDP, EINVAL (or EOPNOTSUPP) for offload without a BPF-offloading NIC and a
 * program loaded for it. Turn those into errors that say so.
 */
function modeError(e: unknown, mode: XdpMode | undefined, iface: string, context: string): unknown {
  if (!(e instanceof SyscallError)) return e;
  if (mode === "offload" && (e.code === "EINVAL" || e.code === "EOPNOTSUPP")) {
    return new MissingFeatureError("XDP_OFFLOAD_UNSUPPORTED", `${context}: ${iface} cannot run XDP offloaded (${e.code}): offload needs a NIC whose driver offloads BPF and a program loaded for that device; use "driver" or "generic"`, { cause: e });
  }
  if (mode === "driver" && e.code === "EOPNOTSUPP") {
    return new MissingFeatureError("XDP_DRIVER_UNSUPPORTED", `${context}: the driver of ${iface} has no native XDP (EOPNOTSUPP); use "generic"`, { cause: e });
  }
  return e;
}

function attachNetlink(prog: Program, ifindex: number, description: string, opts: XdpAttachOptions, iface: string): Link {
  const modeFlags = opts.mode ? MODE_FLAGS[opts.mode] : 0;
  const context = `attach program "${prog.name}" to ${description}`;
  const replace = opts.replace;
  try {
    if (replace === undefined || replace === false) {
      xdpSetNetlink(ifindex, prog.fd.value, modeFlags | XDP_FLAGS.UPDATE_IF_NOEXIST, undefined, context);
    } else if (replace === true) {
      xdpSetNetlink(ifindex, prog.fd.value, modeFlags, undefined, context);
    } else {
      xdpSetNetlink(ifindex, prog.fd.value, modeFlags | XDP_FLAGS.REPLACE, progFdOf(replace), context);
    }
  } catch (e) {
    throw modeError(e, opts.mode, iface, context);
  }
  let current: Fd = prog.fd.dup(`program attached to ${description}`);
  const link: AttachmentLink = new AttachmentLink(prog.fd, description, {
    detach: () => {
      try {
        // Remove only our program: if someone replaced it meanwhile, theirs stays (EEXIST is ignored).
        xdpSetNetlink(ifindex, -1, modeFlags | XDP_FLAGS.REPLACE, current.value, `detach ${description}`);
      } catch (e) {
        if (!(e instanceof SyscallError) || !["ENODEV", "EEXIST", "ENOENT"].includes(e.code)) throw e;
      } finally {
        current.close();
      }
    },
    update: (newProg) => {
      xdpSetNetlink(ifindex, newProg.value, modeFlags | XDP_FLAGS.REPLACE, current.value, `update ${description}`);
      current.close();
      current = newProg.dup(`program attached to ${description}`);
    },
    info: () => ({ type: LINK_TYPE.XDP, id: 0, progId: xdpState(ifindex).progId, ifindex }),
  });
  return link;
}

/**
 * Whether a failed XDP link create means "this kernel has no XDP links" (before 5.9: EINVAL), so
 * that attachXdp falls back to netlink; a mechanism of "link" never falls back.
 */
export function xdpLinkMissing(e: unknown, mechanism: "link" | "netlink" | undefined, kernel59 = kernelAtLeast(5, 9)): boolean {
  return mechanism !== "link" && e instanceof SyscallError && e.code === "EINVAL" && !kernel59;
}

/**
 * Attach an XDP program to an interface: a BPF link by default, netlink on request or on kernels
 * without XDP links. Two attachments to one interface fail with EBUSY unless `replace` is given.
 *
 * @example
 * using link = attachXdp(prog, "eth0", { mode: "generic" });
 * using viaNetlink = attachXdp(other, "eth1", { mechanism: "netlink" });
 * viaNetlink.update(newer.fd); // atomic replace
 */
export function attachXdp(prog: Program, iface: string | number, opts: XdpAttachOptions | XdpMode = {}): Link {
  const o: XdpAttachOptions = typeof opts === "string" ? { mode: opts } : opts;
  if (o.mode !== undefined && !Object.hasOwn(MODE_FLAGS, o.mode)) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}": XDP mode "${String(o.mode)}" is not one of generic, driver, offload`);
  }
  if (prog.spec.type !== "XDP") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to XDP: it is a ${prog.spec.type} program, not XDP`);
  }
  const ifindex = interfaceIndex(iface);
  const description = `xdp on ${describeIface(iface)}${o.mode ? ` (${o.mode})` : ""}`;
  if (o.replace !== undefined && o.replace !== false && o.mechanism !== "netlink") {
    if (o.mechanism === "link") {
      throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to ${description}: "replace" needs the netlink mechanism; replace a link's program with link.update()`);
    }
    return attachNetlink(prog, ifindex, description + " via netlink", o, describeIface(iface));
  }
  if (o.mechanism === "netlink") return attachNetlink(prog, ifindex, description + " via netlink", o, describeIface(iface));
  const context = `attach program "${prog.name}" to ${description}`;
  try {
    const fd = linkCreate({ context, progFd: prog.fd.value, target: ifindex, attachType: ATTACH_TYPE.XDP, flags: o.mode ? MODE_FLAGS[o.mode] : 0 });
    return new Link(fd, description);
  } catch (e) {
    if (!xdpLinkMissing(e, o.mechanism)) throw modeError(e, o.mode, describeIface(iface), context);
  }
  return attachNetlink(prog, ifindex, description + " via netlink", o, describeIface(iface));
}
