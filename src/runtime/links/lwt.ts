// Lightweight-tunnel programs (lwt_in, lwt_out, lwt_xmit): a route whose encapsulation is BPF,
// added over netlink (RTM_NEWROUTE with RTA_ENCAP) and deleted when the handle closes.

import { isIPv4, isIPv6 } from "node:net";
import { SyscallError, TsbpfError } from "../../errors.js";
import { LINK_TYPE, SOCKET } from "../../sys/constants.js";
import {
  LWT_BPF,
  LWT_BPF_PROG,
  LWTUNNEL_ENCAP_BPF,
  nla,
  NLM_F,
  RTA,
  RTM,
  rtmsg,
  withRouteNetlink,
  type NlAttr,
} from "../../sys/netlink.js";
import type { Program } from "../program.js";
import { AttachmentLink } from "./detachable.js";
import type { Link } from "./link.js";
import { interfaceIndex } from "./xdp.js";

const AF_INET6 = 10;

/** Options of {@link attachLwt}. */
export interface LwtAttachOptions {
  /** Destination prefix of the route, e.g. `198.18.7.0/24` or `2001:db8::/64`. */
  readonly route: string;
  /** Output interface of the route. */
  readonly interface: string | number;
  /** Routing table (default: main, 254). */
  readonly table?: number;
  /** Replace an existing route to the same prefix instead of failing with EEXIST. */
  readonly replace?: boolean;
}

function parsePrefix(route: string, ctx: string): { family: number; addr: Uint8Array; len: number } {
  const [ip, lenText] = route.split("/");
  const v4 = isIPv4(ip);
  if (!v4 && !isIPv6(ip)) throw new TsbpfError("INVALID_ARGUMENT", `${ctx}: "${route}" is not an IP prefix`);
  const max = v4 ? 32 : 128;
  const len = lenText === undefined ? max : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > max) throw new TsbpfError("INVALID_ARGUMENT", `${ctx}: bad prefix length in "${route}"`);
  let addr: Uint8Array;
  if (v4) addr = Uint8Array.from(ip.split(".").map(Number));
  else {
    const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    addr = new Uint8Array(16);
    groups.forEach((g, i) => {
      const n = parseInt(g || "0", 16);
      addr[2 * i] = n >> 8;
      addr[2 * i + 1] = n & 0xff;
    });
  }
  return { family: v4 ? SOCKET.AF_INET : AF_INET6, addr, len };
}

const HOOK_OF: Record<string, number> = { LWT_IN: LWT_BPF.IN, LWT_OUT: LWT_BPF.OUT, LWT_XMIT: LWT_BPF.XMIT };

/**
 * Attach an LWT_IN / LWT_OUT / LWT_XMIT program by adding a route with BPF encapsulation: packets
 * routed through it run the program (on input, output or transmit). Closing the handle deletes the route.
 *
 * @example
 * using route = attachLwt(prog, { route: "198.18.7.0/24", interface: "veth0" });
 */
export function attachLwt(prog: Program, opts: LwtAttachOptions): Link {
  const hook = HOOK_OF[prog.spec.type];
  if (hook === undefined) {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" to a route: it is a ${prog.spec.type} program, not LWT_IN, LWT_OUT or LWT_XMIT`);
  }
  const description = `${prog.spec.type.toLowerCase()} route ${opts.route} dev ${String(opts.interface)}`;
  const context = `attach program "${prog.name}" as ${description}`;
  const p = parsePrefix(opts.route, context);
  const ifindex = interfaceIndex(opts.interface);
  const table = opts.table ?? 254;
  const header = rtmsg({ family: p.family, dstLen: p.len, table: table < 256 ? table : 252 });
  const base: NlAttr[] = [nla.raw(RTA.DST, p.addr), nla.u32(RTA.OIF, ifindex), nla.u32(RTA.TABLE, table)];
  const encap = (progFd: number): NlAttr[] => [
    nla.u16(RTA.ENCAP_TYPE, LWTUNNEL_ENCAP_BPF),
    nla.nest(RTA.ENCAP, [nla.nest(hook, [nla.u32(LWT_BPF_PROG.FD, progFd), nla.str(LWT_BPF_PROG.NAME, prog.name)])]),
  ];
  withRouteNetlink((nl) => nl.request("RTM_NEWROUTE", RTM.NEWROUTE, NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL),
    header, [...base, ...encap(prog.fd.value)], context));
  return new AttachmentLink(prog.fd, description, {
    detach: () => {
      try {
        withRouteNetlink((nl) => nl.request("RTM_DELROUTE", RTM.DELROUTE, 0, header, base, `detach ${description}`));
      } catch (e) {
        if (!(e instanceof SyscallError) || !["ESRCH", "ENODEV", "ENOENT"].includes(e.code)) throw e;
      }
    },
    update: (newProg) => {
      withRouteNetlink((nl) => nl.request("RTM_NEWROUTE", RTM.NEWROUTE, NLM_F.REPLACE, header, [...base, ...encap(newProg.value)], `update ${description}`));
    },
    info: () => ({ type: LINK_TYPE.UNSPEC, id: 0, progId: 0, ifindex }),
  });
}
