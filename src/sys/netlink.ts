// A small rtnetlink client: message/attribute encoder and decoder, and request/ack over the addon's
// socket calls. Used for XDP (IFLA_XDP), TC (clsact qdisc + cls_bpf filters) and lwt routes.

import { PermissionError, SyscallError, TsbpfError } from "../errors.js";
import { SOCKET } from "./constants.js";
import { Fd } from "./fd.js";
import { NEED_NET_ADMIN } from "./capabilities.js";
import { missingCapabilityError, sys, syscallError } from "./seam.js";

/** Netlink message types and flags (linux/netlink.h, linux/rtnetlink.h). */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;
export const NLM_F = {
  REQUEST: 0x01, MULTI: 0x02, ACK: 0x04, ECHO: 0x08,
  /** Modifiers of GET requests. */
  ROOT: 0x100, MATCH: 0x200, DUMP: 0x300,
  /** Modifiers of NEW requests. */
  REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
  /** Flags of an NLMSG_ERROR ack. */
  CAPPED: 0x100, ACK_TLVS: 0x200,
} as const;
export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWQDISC: 36, DELQDISC: 37, GETQDISC: 38,
  NEWTFILTER: 44, DELTFILTER: 45, GETTFILTER: 46,
} as const;
/** Attribute type flags. */
export const NLA_F_NESTED = 1 << 15;
const NLA_TYPE_MASK = ~((1 << 15) | (1 << 14));
/** NLMSGERR_ATTR_* in the extended ack of an error. */
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
const align4 = (n: number) => (n + 3) & ~3;

/** One attribute of a request: a type and its payload, or nested attributes. */
export type NlAttr =
  | { type: number; bytes: Uint8Array }
  | { type: number; nested: NlAttr[] };

/** Attribute builders for request bodies. */
export const nla = {
  u8: (type: number, v: number): NlAttr => ({ type, bytes: Uint8Array.of(v & 0xff) }),
  u16: (type: number, v: number): NlAttr => {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return { type, bytes: b };
  },
  u32: (type: number, v: number): NlAttr => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return { type, bytes: b };
  },
  s32: (type: number, v: number): NlAttr => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return { type, bytes: b };
  },
  /** A NUL-terminated string. */
  str: (type: number, s: string): NlAttr => {
    const enc = new TextEncoder().encode(s);
    const b = new Uint8Array(enc.length + 1);
    b.set(enc);
    return { type, bytes: b };
  },
  raw: (type: number, bytes: Uint8Array): NlAttr => ({ type, bytes }),
  nest: (type: number, nested: NlAttr[]): NlAttr => ({ type: type | NLA_F_NESTED, nested }),
};

function attrSize(a: NlAttr): number {
  const payload = "bytes" in a ? a.bytes.length : a.nested.reduce((n, x) => n + align4(attrSize(x)), 0);
  return NLA_HDRLEN + payload;
}

function writeAttrs(out: Uint8Array, view: DataView, offset: number, attrs: readonly NlAttr[]): number {
  for (const a of attrs) {
    const len = attrSize(a);
    if (len > 0xffff) throw new TsbpfError("INVALID_ARGUMENT", `netlink: attribute ${a.type} is ${len} bytes, over the 65535-byte limit`);
    view.setUint16(offset, len, true);
    view.setUint16(offset + 2, a.type, true);
    if ("bytes" in a) out.set(a.bytes, offset + NLA_HDRLEN);
    else writeAttrs(out, view, offset + NLA_HDRLEN, a.nested);
    offset += align4(len);
  }
  return offset;
}

/** Encode one netlink message: header, fixed family header (ifinfomsg, tcmsg, ...), attributes. */
export function encodeNlMessage(
  type: number, flags: number, seq: number, header: Uint8Array, attrs: readonly NlAttr[] = [],
): Uint8Array {
  const len = NLMSG_HDRLEN + align4(header.length) + attrs.reduce((n, a) => n + align4(attrSize(a)), 0);
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true);
  out.set(header, NLMSG_HDRLEN);
  writeAttrs(out, view, NLMSG_HDRLEN + align4(header.length), attrs);
  return out;
}

/** A received netlink message. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header (family header + attributes). */
  payload: Uint8Array;
}

/** Split a datagram into messages; throws NETLINK_MALFORMED on a truncated header or length. */
export function decodeNlMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new TsbpfError("NETLINK_MALFORMED", `netlink: message at byte ${off} claims ${len} bytes, ${buf.length - off} remain`);
    }
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Decoded attributes: type (without NLA_F_* bits) → payload; a repeated type keeps the last. */
export class NlAttrs {
  readonly #map = new Map<number, Uint8Array>();

  constructor(bytes: Uint8Array) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off + NLA_HDRLEN <= bytes.length) {
      const len = view.getUint16(off, true);
      if (len < NLA_HDRLEN || off + len > bytes.length) break;
      this.#map.set(view.getUint16(off + 2, true) & NLA_TYPE_MASK, bytes.subarray(off + NLA_HDRLEN, off + len));
      off += align4(len);
    }
  }

  has(type: number): boolean { return this.#map.has(type); }
  bytes(type: number): Uint8Array | undefined { return this.#map.get(type); }
  types(): number[] { return [...this.#map.keys()]; }

  u8(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 1 ? b[0] : undefined;
  }
  u16(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 2 ? new DataView(b.buffer, b.byteOffset, 2).getUint16(0, true) : undefined;
  }
  u32(type: number): number | undefined {
    const b = this.#map.get(type);
    return b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
  }
  str(type: number): string | undefined {
    const b = this.#map.get(type);
    if (!b) return undefined;
    const end = b.indexOf(0);
    return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
  }
  nested(type: number): NlAttrs | undefined {
    const b = this.#map.get(type);
    return b ? new NlAttrs(b) : undefined;
  }
}

/** The errno and extended-ack text of an NLMSG_ERROR payload (errno 0 is an ack). */
export function decodeNlError(payload: Uint8Array, flags: number): { errno: number; message?: string } {
  if (payload.length < 4) throw new TsbpfError("NETLINK_MALFORMED", "netlink: truncated error message");
  const errno = Math.abs(new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true));
  if (!(flags & NLM_F.ACK_TLVS)) return { errno };
  // After the errno comes the offending request: its header only when capped, else all of it.
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const reqLen = payload.length >= 8 ? view.getUint32(4, true) : 0;
  const skip = 4 + (flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(reqLen));
  if (skip > payload.length) return { errno };
  const tlv = new NlAttrs(payload.subarray(skip));
  const msg = tlv.str(NLMSGERR_ATTR_MSG);
  void NLMSGERR_ATTR_OFFS;
  return msg ? { errno, message: msg } : { errno };
}

/** Error of a netlink request: the errno as a SyscallError, with the kernel's extended ack message. */
function requestError(operation: string, errno: number, context: string, message?: string): SyscallError | PermissionError {
  const code = syscallError(operation, errno).code;
  let detail: string;
  try {
    detail = sys().strerror(errno);
  } catch {
    detail = code;
  }
  const err = new SyscallError(operation, errno, code, message ? `${detail}: ${message}` : detail, context);
  // rtnetlink refuses changes (links, qdiscs, filters, routes, XDP) without CAP_NET_ADMIN.
  return (code === "EPERM" && missingCapabilityError(`${context}: ${operation}`, code, detail, "CAP_NET_ADMIN", NEED_NET_ADMIN, err)) || err;
}

/**
 * A NETLINK_ROUTE socket. `request()` sends one message and collects the replies up to the ack (or
 * NLMSG_DONE for dumps); a kernel error becomes a SyscallError naming the request and carrying the
 * extended ack text.
 *
 * @example
 * using nl = NetlinkSocket.open();
 * const replies = nl.request("RTM_GETLINK", RTM.GETLINK, NLM_F.DUMP, ifinfomsg(0));
 */
export class NetlinkSocket implements Disposable {
  readonly fd: Fd;
  #seq = Math.floor(Math.random() * 0x7fffffff);

  private constructor(fd: Fd) {
    this.fd = fd;
  }

  /** Open and bind a netlink socket of `protocol` (NETLINK_ROUTE by default) with extended acks on. */
  static open(protocol: number = SOCKET.NETLINK_ROUTE): NetlinkSocket {
    const s = sys();
    const fd = new Fd(s.socket(SOCKET.AF_NETLINK, SOCKET.SOCK_RAW | SOCKET.SOCK_CLOEXEC, protocol), "netlink socket");
    try {
      const addr = new Uint8Array(12);
      new DataView(addr.buffer).setUint16(0, SOCKET.AF_NETLINK, true);
      s.bind(fd.value, addr);
      const one = new Uint8Array(4);
      new DataView(one.buffer).setUint32(0, 1, true);
      try {
        s.setsockopt(fd.value, SOCKET.SOL_NETLINK, SOCKET.NETLINK_EXT_ACK, one);
      } catch {
        // Extended acks are a nicety (Linux 4.12+): errors just lose their text.
      }
    } catch (e) {
      fd.close();
      throw e;
    }
    return new NetlinkSocket(fd);
  }

  /**
   * Send a request (NLM_F_REQUEST|NLM_F_ACK are added) and return the non-error replies.
   * `operation` names the request in errors (`RTM_NEWTFILTER`), `context` says what it was for.
   */
  request(
    operation: string, type: number, flags: number, header: Uint8Array, attrs: readonly NlAttr[] = [], context = operation,
  ): NlMessage[] {
    const seq = ++this.#seq;
    const msg = encodeNlMessage(type, flags | NLM_F.REQUEST | NLM_F.ACK, seq, header, attrs);
    const s = sys();
    s.send(this.fd.value, msg, 0);
    const dump = (flags & NLM_F.DUMP) === NLM_F.DUMP;
    const out: NlMessage[] = [];
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = s.recv(this.fd.value, buf, SOCKET.MSG_DONTWAIT);
      } catch (e) {
        if (e instanceof SyscallError && e.code === "EAGAIN") {
          throw new TsbpfError("NETLINK_NO_REPLY", `${context}: ${operation}: the kernel sent no acknowledgement`);
        }
        throw e;
      }
      for (const m of decodeNlMessages(buf.slice(0, n))) {
        if (m.seq !== seq) continue; // a late reply to an earlier request
        if (m.type === NLMSG.ERROR) {
          const { errno, message } = decodeNlError(m.payload, m.flags);
          if (errno !== 0) throw requestError(operation, errno, context, message);
          if (!dump) return out;
          continue;
        }
        if (m.type === NLMSG.DONE) return out;
        out.push(m);
      }
    }
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Run `fn` with a fresh route netlink socket, closed afterwards. */
export function withRouteNetlink<T>(fn: (nl: NetlinkSocket) => T): T {
  const nl = NetlinkSocket.open();
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/* ---------- rtnetlink family headers ---------- */

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(ifindex: number, family: number = SOCKET.AF_UNSPEC): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setInt32(4, ifindex, true);
  return b;
}

/** struct tcmsg (20 bytes). */
export function tcmsg(o: { ifindex: number; handle?: number; parent?: number; info?: number; family?: number }): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint8(0, o.family ?? SOCKET.AF_UNSPEC);
  v.setInt32(4, o.ifindex, true);
  v.setUint32(8, (o.handle ?? 0) >>> 0, true);
  v.setUint32(12, (o.parent ?? 0) >>> 0, true);
  v.setUint32(16, (o.info ?? 0) >>> 0, true);
  return b;
}

/** Decoded struct tcmsg of a reply, with its attributes. */
export function decodeTcmsg(payload: Uint8Array): { ifindex: number; handle: number; parent: number; info: number; attrs: NlAttrs } {
  if (payload.length < 20) throw new TsbpfError("NETLINK_MALFORMED", "netlink: truncated tcmsg");
  const v = new DataView(payload.buffer, payload.byteOffset, 20);
  return {
    ifindex: v.getInt32(4, true),
    handle: v.getUint32(8, true),
    parent: v.getUint32(12, true),
    info: v.getUint32(16, true),
    attrs: new NlAttrs(payload.subarray(20)),
  };
}

/** struct rtmsg (12 bytes). */
export function rtmsg(o: {
  family: number; dstLen?: number; table?: number; protocol?: number; scope?: number; type?: number;
}): Uint8Array {
  const b = new Uint8Array(12);
  b[0] = o.family;
  b[1] = o.dstLen ?? 0;
  b[4] = o.table ?? 254; // RT_TABLE_MAIN
  b[5] = o.protocol ?? 3; // RTPROT_BOOT
  b[6] = o.scope ?? 0; // RT_SCOPE_UNIVERSE
  b[7] = o.type ?? 1; // RTN_UNICAST
  return b;
}

/** IFLA_* attributes used for XDP. */
export const IFLA = { IFNAME: 3, XDP: 43 } as const;
export const IFLA_XDP = { FD: 1, ATTACHED: 2, FLAGS: 3, PROG_ID: 4, DRV_PROG_ID: 5, SKB_PROG_ID: 6, HW_PROG_ID: 7, EXPECTED_FD: 8 } as const;
/** XDP_FLAGS_* of IFLA_XDP_FLAGS. */
export const XDP_FLAGS = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8, REPLACE: 16 } as const;
/** XDP_ATTACHED_* values of IFLA_XDP_ATTACHED. */
export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

/** TCA_* attributes and cls_bpf options. */
export const TCA = { KIND: 1, OPTIONS: 2 } as const;
export const TCA_BPF = { ACT: 1, POLICE: 2, CLASSID: 3, OPS_LEN: 4, OPS: 5, FD: 6, NAME: 7, FLAGS: 8, FLAGS_GEN: 9, TAG: 10, ID: 11 } as const;
export const TCA_BPF_FLAG_ACT_DIRECT = 1;
/** Special tc handles. */
export const TC_H = {
  CLSACT: 0xfffffff1,
  MIN_INGRESS: 0xfff2,
  MIN_EGRESS: 0xfff3,
  /** Handle of the clsact qdisc itself (ffff:). */
  CLSACT_HANDLE: 0xffff0000,
} as const;
/** ETH_P_ALL in network byte order, as tcm_info's protocol half wants it. */
export const ETH_P_ALL_BE = 0x0300;

/** RTA_* attributes and lwtunnel BPF encapsulation. */
export const RTA = { DST: 1, OIF: 4, TABLE: 15, ENCAP_TYPE: 21, ENCAP: 22 } as const;
export const LWTUNNEL_ENCAP_BPF = 6;
export const LWT_BPF = { IN: 1, OUT: 2, XMIT: 3, XMIT_HEADROOM: 4 } as const;
export const LWT_BPF_PROG = { FD: 1, NAME: 2 } as const;
