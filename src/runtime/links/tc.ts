// TC attachment the pre-6.6 way, over netlink: a clsact qdisc on the interface and a cls_bpf filter
// in direct-action mode; plus the dispatcher that prefers TCX links and falls back to this.

import { SyscallError, TsbpfError } from "../../errors.js";
import { LINK_TYPE } from "../../sys/constants.js";
import type { Fd } from "../../sys/fd.js";
import {
  decodeTcmsg,
  ETH_P_ALL_BE,
  nla,
  NLM_F,
  RTM,
  TC_H,
  TCA,
  TCA_BPF,
  TCA_BPF_FLAG_ACT_DIRECT,
  tcmsg,
  withRouteNetlink,
} from "../../sys/netlink.js";
import { kernelAtLeast } from "../../sys/system.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import type { Link } from "./link.js";
import { attachTcx, type MprogOrder, type TcDirection } from "./tcx.js";
import { interfaceIndex } from "./xdp.js";

/** Options of a netlink (cls_bpf) TC attachment. */
export interface TcFilterOptions {
  /** Filter priority (1..65535); default: the kernel picks one below the existing filters. */
  readonly priority?: number;
  /** Filter handle; default: the kernel picks one. */
  readonly handle?: number;
  /** Replace the filter at this priority/handle instead of failing with EEXIST. */
  readonly replace?: boolean;
}

/** A cls_bpf filter found on an interface. */
export interface TcFilter {
  readonly handle: number;
  readonly priority: number;
  /** The program name the filter was given (`<prog name>`, as `tc filter show` prints it). */
  readonly name: string;
  readonly progId: number;
  readonly directAction: boolean;
}

function parentOf(direction: TcDirection): number {
  return ((TC_H.CLSACT & 0xffff0000) | (direction === "ingress" ? TC_H.MIN_INGRESS : TC_H.MIN_EGRESS)) >>> 0;
}

function checkU16(what: string, v: number | undefined, ctx: string): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 0xffff)) {
    throw new TsbpfError("INVALID_ARGUMENT", `${ctx}: ${what} must be an integer in 1..65535, not ${String(v)}`);
  }
}

/** Add the clsact qdisc to an interface; false when it was already there. */
export function ensureClsact(iface: string | number): boolean {
  const ifindex = interfaceIndex(iface);
  try {
    withRouteNetlink((nl) => nl.request(
      "RTM_NEWQDISC", RTM.NEWQDISC, NLM_F.CREATE | NLM_F.EXCL,
      tcmsg({ ifindex, handle: TC_H.CLSACT_HANDLE, parent: TC_H.CLSACT }), [nla.str(TCA.KIND, "clsact")],
      `add clsact qdisc to ${String(iface)}`,
    ));
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.code === "EEXIST") return false;
    throw e;
  }
}

/** Remove the clsact qdisc (and with it every TC filter) of an interface; false when there was none. */
export function removeClsact(iface: string | number): boolean {
  const ifindex = interfaceIndex(iface);
  try {
    withRouteNetlink((nl) => nl.request(
      "RTM_DELQDISC", RTM.DELQDISC, 0,
      tcmsg({ ifindex, handle: TC_H.CLSACT_HANDLE, parent: TC_H.CLSACT }), [nla.str(TCA.KIND, "clsact")],
      `remove clsact qdisc of ${String(iface)}`,
    ));
    return true;
  } catch (e) {
    if (e instanceof SyscallError && (e.code === "ENOENT" || e.code === "EINVAL")) return false;
    throw e;
  }
}

/** The cls_bpf filters of an interface's ingress or egress hook, in priority order. */
export function tcFilters(iface: string | number, direction: TcDirection): TcFilter[] {
  const ifindex = interfaceIndex(iface);
  let replies;
  try {
    replies = withRouteNetlink((nl) => nl.request(
      "RTM_GETTFILTER", RTM.GETTFILTER, NLM_F.DUMP, tcmsg({ ifindex, parent: parentOf(direction) }), [],
      `list tc ${direction} filters of ${String(iface)}`,
    ));
  } catch (e) {
    if (e instanceof SyscallError && e.code === "EINVAL") return []; // no clsact qdisc
    throw e;
  }
  const out: TcFilter[] = [];
  for (const m of replies) {
    if (m.type !== RTM.NEWTFILTER) continue;
    const t = decodeTcmsg(m.payload);
    if (t.attrs.str(TCA.KIND) !== "bpf" || t.handle === 0) continue;
    const opts = t.attrs.nested(TCA.OPTIONS);
    out.push({
      handle: t.handle,
      priority: t.info >>> 16,
      name: opts?.str(TCA_BPF.NAME) ?? "",
      progId: opts?.u32(TCA_BPF.ID) ?? 0,
      directAction: ((opts?.u32(TCA_BPF.FLAGS) ?? 0) & TCA_BPF_FLAG_ACT_DIRECT) !== 0,
    });
  }
  return out.sort((a, b) => a.priority - b.priority || a.handle - b.handle);
}

function filterRequest(
  op: "add" | "replace", ifindex: number, direction: TcDirection, prog: { fd: Fd; name: string },
  priority: number, handle: number, context: string,
): { handle: number; priority: number } {
  const flags = op === "add" ? NLM_F.CREATE | NLM_F.EXCL | NLM_F.ECHO : NLM_F.CREATE | NLM_F.REPLACE | NLM_F.ECHO;
  const replies = withRouteNetlink((nl) => nl.request(
    "RTM_NEWTFILTER", RTM.NEWTFILTER, flags,
    tcmsg({ ifindex, handle, parent: parentOf(direction), info: ((priority << 16) | ETH_P_ALL_BE) >>> 0 }),
    [
      nla.str(TCA.KIND, "bpf"),
      nla.nest(TCA.OPTIONS, [
        nla.u32(TCA_BPF.FD, prog.fd.value),
        nla.str(TCA_BPF.NAME, prog.name),
        nla.u32(TCA_BPF.FLAGS, TCA_BPF_FLAG_ACT_DIRECT),
      ]),
    ],
    context,
  ));
  const echo = replies.find((m) => m.type === RTM.NEWTFILTER);
  if (echo) {
    const t = decodeTcmsg(echo.payload);
    return { handle: t.handle, priority: t.info >>> 16 };
  }
  if (handle && priority) return { handle, priority };
  throw new TsbpfError("NETLINK_NO_REPLY", `${context}: the kernel did not report the new filter's handle and priority`);
}

function deleteFilter(ifindex: number, direction: TcDirection, handle: number, priority: number, context: string): void {
  try {
    withRouteNetlink((nl) => nl.request(
      "RTM_DELTFILTER", RTM.DELTFILTER, 0,
      tcmsg({ ifindex, handle, parent: parentOf(direction), info: ((priority << 16) | ETH_P_ALL_BE) >>> 0 }),
      [nla.str(TCA.KIND, "bpf")],
      context,
    ));
  } catch (e) {
    // The filter, its qdisc or the whole interface is gone already: nothing left to detach.
    if (!(e instanceof SyscallError) || !["ENOENT", "ENODEV", "EINVAL"].includes(e.code)) throw e;
  }
}

/**
 * Attach a SCHED_CLS program as a direct-action cls_bpf filter on the clsact qdisc of an interface
 * (added when missing and left in place). Closing the returned handle deletes the filter.
 *
 * @example
 * using filter = attachTcFilter(prog, "eth0", "egress", { priority: 1, handle: 1 });
 * filter.update(newer.fd);  // NLM_F_REPLACE of the same filter
 */
export function attachTcFilter(prog: Program, iface: string | number, direction: TcDirection, opts: TcFilterOptions = {}): Link {
  if (prog.spec.type !== "SCHED_CLS") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to tc: it is a ${prog.spec.type} program, not SCHED_CLS`);
  }
  const ifindex = interfaceIndex(iface);
  const description = `tc ${direction} filter on ${typeof iface === "string" ? iface : "ifindex " + iface}`;
  const context = `attach program "${prog.name}" to ${description}`;
  checkU16("priority", opts.priority, context);
  if (opts.handle !== undefined && (!Number.isInteger(opts.handle) || opts.handle < 1 || opts.handle > 0xffffffff)) {
    throw new TsbpfError("INVALID_ARGUMENT", `${context}: handle must be a positive 32-bit integer, not ${String(opts.handle)}`);
  }
  ensureClsact(ifindex);
  const placed = filterRequest(opts.replace ? "replace" : "add", ifindex, direction, prog, opts.priority ?? 0, opts.handle ?? 0, context);
  const where = `${description} (priority ${placed.priority}, handle ${placed.handle})`;
  return new AttachmentLink(prog.fd, where, {
    detach: () => deleteFilter(ifindex, direction, placed.handle, placed.priority, `detach ${where}`),
    update: (newProg) => {
      filterRequest("replace", ifindex, direction, { fd: newProg, name: prog.name }, placed.priority, placed.handle, `update ${where}`);
    },
    info: () => {
      const f = tcFilters(ifindex, direction).find((x) => x.handle === placed.handle && x.priority === placed.priority);
      return { type: LINK_TYPE.UNSPEC, id: 0, progId: f?.progId ?? 0, ifindex };
    },
  });
}

/** Options of {@link attachTc}. */
export interface TcAttachOptions extends MprogOrder, TcFilterOptions {
  /** "link": TCX (6.6+); "netlink": clsact + cls_bpf. Default: TCX, netlink on older kernels. */
  readonly mechanism?: "link" | "netlink";
}

/**
 * Attach a TC program: a TCX link where the kernel has them (6.6+), else a netlink cls_bpf filter.
 *
 * @example
 * using link = attachTc(prog, "eth0", "ingress");
 */
export function attachTc(prog: Program, iface: string | number, direction: TcDirection, opts: TcAttachOptions = {}): Link {
  const netlinkOnly = opts.priority !== undefined || opts.handle !== undefined || opts.replace;
  if (opts.mechanism === "netlink" || (opts.mechanism === undefined && (netlinkOnly || !kernelAtLeast(6, 6)))) {
    if (opts.before !== undefined || opts.after !== undefined || opts.expectedRevision !== undefined) {
      throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to tc ${direction}: before/after/expectedRevision need TCX links; netlink filters are ordered by priority`);
    }
    return attachTcFilter(prog, iface, direction, opts);
  }
  if (netlinkOnly) {
    throw new TsbpfError("INVALID_ARGUMENT", `attach program "${prog.name}" to tcx ${direction}: priority/handle/replace apply to netlink filters; order TCX links with before/after`);
  }
  return attachTcx(prog, iface, direction, opts);
}
