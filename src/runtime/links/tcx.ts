// TCX attachment (kernel 6.6+): a BPF link on an interface's ingress or egress, placed before/after
// another program or link of the same hook, with an optional expected revision; and hook listing.

import { MissingFeatureError, SyscallError, TsbpfError } from "../../errors.js";
import { linkCreate, progQuery } from "../../sys/bpf.js";
import { ATTACH_FLAGS, ATTACH_TYPE } from "../../sys/constants.js";
import { Fd } from "../../sys/fd.js";
import { kernelAtLeast } from "../../sys/system.js";
import { withOp } from "../map.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { interfaceIndex } from "./xdp.js";

/** Traffic direction of a TC hook. */
export type TcDirection = "ingress" | "egress";

/**
 * Another attachment of the same hook to order against: a link or program object, an fd of a program,
 * or a kernel id. `"all"` means "before/after every program" (first / last position).
 */
export type MprogAnchor = Link | Program | Fd | { readonly progId: number } | { readonly linkId: number } | "all";

/** Ordering of a multi-program (tcx, netkit) attachment. Without either, the program goes last. */
export interface MprogOrder {
  readonly before?: MprogAnchor;
  readonly after?: MprogAnchor;
  /** Fail with ESTALE unless the hook's revision (see {@link tcxPrograms}) is still this one. */
  readonly expectedRevision?: number | bigint;
}

/** Encode an anchor as attach flags and relative fd/id. */
export function mprogRelative(order: MprogOrder, what: string): { flags: number; relative: number } {
  if (order.before !== undefined && order.after !== undefined) {
    throw new TsbpfError("INVALID_ARGUMENT", `${what}: give "before" or "after", not both`);
  }
  const anchor = order.before ?? order.after;
  if (anchor === undefined) return { flags: 0, relative: 0 };
  let flags = order.before !== undefined ? ATTACH_FLAGS.BEFORE : ATTACH_FLAGS.AFTER;
  let relative = 0;
  if (anchor === "all") relative = 0;
  else if (anchor instanceof Link) {
    if (!anchor.isBpfLink) throw new TsbpfError("INVALID_ARGUMENT", `${what}: ${anchor.description} is not a BPF link to order against`);
    flags |= ATTACH_FLAGS.LINK;
    relative = anchor.fd.value;
  } else if (anchor instanceof Fd) relative = anchor.value;
  else if ("progId" in anchor) {
    flags |= ATTACH_FLAGS.ID;
    relative = anchor.progId;
  } else if ("linkId" in anchor) {
    flags |= ATTACH_FLAGS.ID | ATTACH_FLAGS.LINK;
    relative = anchor.linkId;
  } else relative = anchor.fd.value; // a Program
  return { flags, relative };
}

/** The attach type of a direction. */
export function tcxAttachType(direction: TcDirection): number {
  return direction === "ingress" ? ATTACH_TYPE.TCX_INGRESS : ATTACH_TYPE.TCX_EGRESS;
}

/**
 * Attach a SCHED_CLS program to an interface through a TCX link (Linux 6.6+).
 *
 * @example
 * using first = attachTcx(a, "eth0", "ingress");
 * using second = attachTcx(b, "eth0", "ingress", { before: first }); // runs before `a`
 */
export function attachTcx(prog: Program, iface: string | number, direction: TcDirection, order: MprogOrder = {}): Link {
  if (prog.spec.type !== "SCHED_CLS") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to tcx: it is a ${prog.spec.type} program, not SCHED_CLS`);
  }
  if (direction !== "ingress" && direction !== "egress") {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to tcx: direction must be "ingress" or "egress", not ${JSON.stringify(direction)}`);
  }
  const ifindex = interfaceIndex(iface);
  const description = `tcx ${direction} on ${typeof iface === "string" ? iface : "ifindex " + iface}`;
  const context = `attach program "${prog.name}" to ${description}`;
  const { flags, relative } = mprogRelative(order, context);
  let fd: Fd;
  try {
    fd = linkCreate({
      context,
      progFd: prog.fd.value, target: ifindex, attachType: tcxAttachType(direction), flags,
      extra: { kind: "tcx", relativeFdOrId: relative, ...(order.expectedRevision !== undefined ? { expectedRevision: order.expectedRevision } : {}) },
    });
  } catch (e) {
    // Before 6.6 the kernel knows no TCX attach type: EINVAL.
    if (e instanceof SyscallError && e.code === "EINVAL" && !kernelAtLeast(6, 6)) {
      throw new MissingFeatureError("TCX_UNSUPPORTED", `${context}: this kernel has no TCX links (Linux 6.6+); attachTc() uses a netlink cls_bpf filter instead`, { cause: e });
    }
    throw e;
  }
  return new Link(fd, description);
}

/** The programs of a TCX hook in run order, and the hook's revision. */
export function tcxPrograms(iface: string | number, direction: TcDirection): { progIds: number[]; revision: bigint } {
  const ifindex = interfaceIndex(iface);
  const q = withOp(`query tcx ${direction} programs of ${String(iface)}`, () => progQuery(ifindex, tcxAttachType(direction)));
  return { progIds: q.progIds, revision: q.revision };
}
