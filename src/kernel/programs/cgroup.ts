// The cgroup program kinds (sock_ops, sock_addr, sock, sysctl, sockopt, device): each runs for the
// processes or sockets of the cgroup it is attached to. Compiler side: src/compiler/kinds/sock-ops.ts
// and src/compiler/kinds/cgroup-*.ts.

import type { i32, i64, u16, u32, u64 } from "../index.js";
import type { AnyLayout, Infer } from "../../types/index.js";
import type { Program } from "../program.js";

/** Four u32 words (an IPv6 address in network byte order, sock_ops arguments). */
export type U32x4 = [u32, u32, u32, u32];

/** `ctx.setsockopt` / `ctx.getsockopt` on the context's socket (bpf_setsockopt / bpf_getsockopt). */
export interface SockoptMethods {
  /** bpf_setsockopt(level, optname, value): an integer is passed as its 4 (or 8) bytes; 0 or a negative errno. */
  setsockopt(level: i32, optname: i32, value: object | number | bigint): i64;
  /** bpf_getsockopt(level, optname) into `dest` (a struct, array or field in memory); 0 or a negative errno. */
  getsockopt(level: i32, optname: i32, dest: object | number): i64;
}

/** bpf_get_retval / bpf_set_retval: the errno the hooked syscall returns. */
export interface RetvalMethods {
  /** The errno (negative) the syscall will return so far, 0 for none. */
  getRetval(): i32;
  /** Make the syscall fail with `err` (a negative errno, e.g. -13 for EACCES) when the program refuses it; 0 or a negative errno. */
  setRetval(err: i32): i64;
}

/**
 * TCP socket events (struct bpf_sock_ops). `op` is a `BPF_SOCK_OPS_*_CB` constant (kernel enums from
 * `tsbpf/kernel`); `args` are its arguments; `reply` is the answer for ops that ask one (TIMEOUT_INIT...).
 * Addresses and `remotePort` are in network byte order, `localPort` in host order. The TCP fields read
 * 0 unless `isFullsock`.
 */
export interface SockOpsContext extends SockoptMethods {
  /** BPF_SOCK_OPS_* operation. */
  readonly op: u32;
  /** Arguments of the operation (e.g. old and new state for STATE_CB). */
  readonly args: Readonly<U32x4>;
  /** The program's answer for ops that ask one (shares its bytes with `args[0]`). */
  reply: u32;
  readonly family: u32;
  readonly remoteIp4: u32;
  readonly localIp4: u32;
  readonly remoteIp6: Readonly<U32x4>;
  readonly localIp6: Readonly<U32x4>;
  /** The port in network byte order as a 32-bit value (the port's bytes in the high half): compare with `bpf.htonl(port)`. */
  readonly remotePort: u32;
  /** Host byte order. */
  readonly localPort: u32;
  /** 1 when the TCP fields below are valid (a full socket, not a request socket). */
  readonly isFullsock: u32;
  readonly sndCwnd: u32;
  /** Smoothed RTT << 3, in microseconds. */
  readonly srttUs: u32;
  /** bpf_sock_ops_cb_flags: the BPF_SOCK_OPS_*_CB_FLAG callbacks enabled (set with `setCbFlags`). */
  readonly cbFlags: u32;
  /** TCP state (TCP_ESTABLISHED...). */
  readonly state: u32;
  readonly rttMin: u32;
  readonly sndSsthresh: u32;
  readonly rcvNxt: u32;
  readonly sndNxt: u32;
  readonly sndUna: u32;
  readonly mssCache: u32;
  readonly ecnFlags: u32;
  readonly rateDelivered: u32;
  readonly rateIntervalUs: u32;
  readonly packetsOut: u32;
  readonly retransOut: u32;
  readonly totalRetrans: u32;
  readonly segsIn: u32;
  readonly dataSegsIn: u32;
  readonly segsOut: u32;
  readonly dataSegsOut: u32;
  readonly lostOut: u32;
  readonly sackedOut: u32;
  /** The socket's flow hash (writable). */
  skTxhash: u32;
  readonly bytesReceived: u64;
  readonly bytesAcked: u64;
  /** Length of the packet of header-option callbacks (header, options and payload). */
  readonly skbLen: u32;
  /** TCP flags of that packet. */
  readonly skbTcpFlags: u32;
  /** bpf_sock_ops_cb_flags_set: enable the BPF_SOCK_OPS_*_CB_FLAG callbacks in `flags`; 0 or a negative errno (or the flags not supported). */
  setCbFlags(flags: u32): i64;
  /**
   * bpf_load_hdr_opt: `buf` starts with the option to search for (kind, and for experimental kinds
   * 253/254 the length and magic); it is overwritten with the option found. Returns its length or a
   * negative errno (-ENOMSG: not there). Flags: BPF_LOAD_HDR_OPT_TCP_SYN.
   */
  loadHdrOpt(buf: object, flags?: number): i64;
  /** bpf_store_hdr_opt (in WRITE_HDR_OPT_CB): `opt` is the whole option (kind, length, data); 0 or a negative errno. */
  storeHdrOpt(opt: object, flags?: number): i64;
  /** bpf_reserve_hdr_opt (in HDR_OPT_LEN_CB): reserve `len` bytes of options; 0 or a negative errno. */
  reserveHdrOpt(len: u32, flags?: number): i64;
}

/** `SEC("sockops")`: TCP events of the cgroup's sockets; return 1 (0 reports failure where the op checks). */
export declare function sockOps(handler: (ctx: SockOpsContext) => number): Program<"sockops">;

/**
 * The address of a bind, connect, sendmsg, recvmsg, getpeername or getsockname call by a process of the
 * cgroup (struct bpf_sock_addr). Addresses and `userPort` are in network byte order (`bpf.htons(80)`);
 * writing them changes the address the call uses (or reports).
 */
export interface SockAddrContext extends SockoptMethods {
  /** The family of the address the process passed (AF_INET 2, AF_INET6 10). */
  readonly userFamily: u32;
  /** Port, network byte order in the low 16 bits. */
  userPort: u32;
  /** The socket's family, type (SOCK_STREAM 1, SOCK_DGRAM 2) and protocol (IPPROTO_TCP 6, IPPROTO_UDP 17). */
  readonly family: u32;
  readonly type: u32;
  readonly protocol: u32;
}
/** An IPv4 hook's address: `userIp4`, network byte order. */
export interface SockAddr4Context extends SockAddrContext {
  userIp4: u32;
}
/** An IPv6 hook's address: `userIp6[0..3]`, network byte order (elements writable). */
export interface SockAddr6Context extends SockAddrContext {
  readonly userIp6: U32x4;
}
/** sendmsg4 adds the source address the datagram is sent from (writable). */
export interface SendMsg4Context extends SockAddr4Context, RetvalMethods {
  msgSrcIp4: u32;
}
/** sendmsg6 adds the source address the datagram is sent from (elements writable). */
export interface SendMsg6Context extends SockAddr6Context, RetvalMethods {
  readonly msgSrcIp6: U32x4;
}
/** connect hooks may bind the socket to a source address first. */
interface BindMethod {
  /** bpf_bind: bind the connecting socket to `sockaddr` (a struct sockaddr_in/_in6 layout); 0 or a negative errno. */
  bind(sockaddr: object): i64;
}
export interface Connect4Context extends SockAddr4Context, BindMethod, RetvalMethods {}
export interface Connect6Context extends SockAddr6Context, BindMethod, RetvalMethods {}
/** bind and sendmsg hooks may set the errno of a refusal. */
export interface Bind4Context extends SockAddr4Context, RetvalMethods {}
export interface Bind6Context extends SockAddr6Context, RetvalMethods {}
/**
 * A unix socket hook's address (Linux 6.7+): a path, rewritten with `setSunPath`; `userFamily` is AF_UNIX (1).
 * `userPort` is not readable there (the kernel refuses it, and so does the compiler).
 */
export interface SockAddrUnixContext extends Omit<SockAddrContext, "userPort"> {
  /**
   * kfunc bpf_sock_addr_set_sun_path: the call uses (or reports) `path` instead, a string constant of 1..108
   * bytes (`"\0name"` is the abstract name `@name`); 0 or a negative errno.
   */
  setSunPath(path: string): i64;
}

/**
 * `SEC("cgroup/<hook>")`: rewrite or refuse the address of a socket call. connect and sendmsg return 1
 * to allow, 0 to refuse (EPERM); bind 0..3 (3: allow, and a port below 1024 needs no CAP_NET_BIND_SERVICE);
 * recvmsg, getpeername and getsockname only rewrite and return 1.
 */
export declare function cgroupSockAddr(hook: "connect4", handler: (ctx: Connect4Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "connect6", handler: (ctx: Connect6Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "sendmsg4", handler: (ctx: SendMsg4Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "sendmsg6", handler: (ctx: SendMsg6Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "bind4", handler: (ctx: Bind4Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "bind6", handler: (ctx: Bind6Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "recvmsg4" | "getpeername4" | "getsockname4", handler: (ctx: SockAddr4Context) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "recvmsg6" | "getpeername6" | "getsockname6", handler: (ctx: SockAddr6Context) => number): Program<"cgroup_sock_addr">;
/** Unix socket hooks (Linux 6.7+): connect_unix and sendmsg_unix return 1 or 0 (EPERM); the others rewrite what is reported and return 1. */
export declare function cgroupSockAddr(hook: "connect_unix" | "sendmsg_unix", handler: (ctx: SockAddrUnixContext & RetvalMethods) => number): Program<"cgroup_sock_addr">;
export declare function cgroupSockAddr(hook: "recvmsg_unix" | "getpeername_unix" | "getsockname_unix", handler: (ctx: SockAddrUnixContext) => number): Program<"cgroup_sock_addr">;

/** A socket of the cgroup (struct bpf_sock), in sock_create, sock_release, post_bind4 and post_bind6 programs. */
export interface SockContext extends RetvalMethods {
  readonly family: u32;
  readonly type: u32;
  readonly protocol: u32;
  /** Destination port, network byte order. */
  readonly dstPort: u16;
  /** Destination address, network byte order. */
  readonly dstIp4: u32;
  readonly dstIp6: Readonly<U32x4>;
  /** TCP state (TCP_ESTABLISHED...). */
  readonly state: u32;
  readonly rxQueueMapping: i32;
}
/** sock_create and sock_release: the socket's device binding, mark and priority are writable. */
export interface SockCreateContext extends SockContext {
  boundDevIf: u32;
  mark: u32;
  priority: u32;
}
/** post_bind4: the address and port (host byte order) just bound. */
export interface PostBind4Context extends SockContext {
  readonly srcIp4: u32;
  readonly srcPort: u32;
}
/** post_bind6: the address and port (host byte order) just bound. */
export interface PostBind6Context extends SockContext {
  readonly srcIp6: Readonly<U32x4>;
  readonly srcPort: u32;
}

/** `SEC("cgroup/<hook>")`: a socket of the cgroup created, released or bound; return 1 to allow, 0 to refuse (EPERM). */
export declare function cgroupSock(hook: "sock_create" | "sock_release", handler: (ctx: SockCreateContext) => number): Program<"cgroup_sock">;
export declare function cgroupSock(hook: "post_bind4", handler: (ctx: PostBind4Context) => number): Program<"cgroup_sock">;
export declare function cgroupSock(hook: "post_bind6", handler: (ctx: PostBind6Context) => number): Program<"cgroup_sock">;

/**
 * A read or write of a /proc/sys file (struct bpf_sysctl). The buffer methods copy a NUL-terminated
 * string into `buf` (a `cstring(n)` field, or any struct or array in memory) and return its length
 * without the NUL, or -E2BIG when it was truncated.
 */
export interface SysctlContext extends RetvalMethods {
  /** 1 for a write, 0 for a read. */
  readonly write: u32;
  /** The file position of the read or write (writable). */
  filePos: u32;
  /** bpf_sysctl_get_name: the path under /proc/sys ("kernel/ostype"); flags 1 (BPF_F_SYSCTL_BASE_NAME): only "ostype". */
  getName(buf: object | string, flags?: number): i64;
  /** bpf_sysctl_get_current_value: the value before this call (as text). */
  getCurrentValue(buf: object | string): i64;
  /** bpf_sysctl_get_new_value: the value being written (writes only; -EINVAL for reads). */
  getNewValue(buf: object | string): i64;
  /** bpf_sysctl_set_new_value: replace the value being written by a string literal or the first `len` bytes of `buf` (writes only). */
  setNewValue(value: string | object, len?: number): i64;
}

/** `SEC("cgroup/sysctl")`: a /proc/sys read or write by a process of the cgroup; return 1 to allow, 0 to refuse (EPERM). */
export declare function cgroupSysctl(handler: (ctx: SysctlContext) => number): Program<"cgroup_sysctl">;

/**
 * A getsockopt or setsockopt call (struct bpf_sockopt). The option's bytes (`optval`, at most a page)
 * are read and written in place: `ctx.load(layout, offset)` is null when they are too short.
 */
export interface SockoptContext extends RetvalMethods {
  /** The option level (SOL_SOCKET 1, IPPROTO_TCP 6...) and name. */
  readonly level: i32;
  readonly optname: i32;
  /**
   * The option's length (writable): in setsockopt the length the kernel will use (-1: skip the kernel's
   * handler and return 0), in getsockopt the length returned to the caller.
   */
  optlen: i32;
  /** The option value at byte `offset`, as `layout`, or null when it does not fit. */
  load<L extends AnyLayout>(layout: L, offset: number): Infer<L> | null;
}
/** getsockopt: after the kernel's handler; `retval` is its result (0 or a negative errno), writable. */
export interface GetsockoptContext extends SockoptContext {
  retval: i32;
}
/** setsockopt: before the kernel's handler; the level and name may be changed, the socket's options read and set. */
export interface SetsockoptContext extends SockoptContext, SockoptMethods {
  level: i32;
  optname: i32;
}

/** `SEC("cgroup/getsockopt")` / `SEC("cgroup/setsockopt")`: return 1 to continue, 0 to refuse (EPERM). */
export declare function cgroupSockopt(hook: "getsockopt", handler: (ctx: GetsockoptContext) => number): Program<"cgroup_sockopt">;
export declare function cgroupSockopt(hook: "setsockopt", handler: (ctx: SetsockoptContext) => number): Program<"cgroup_sockopt">;

/** A device access (struct bpf_cgroup_dev_ctx), read-only. */
export interface DeviceContext extends RetvalMethods {
  /** `access << 16 | type`: access BPF_DEVCG_ACC_MKNOD 1, READ 2, WRITE 4; type BPF_DEVCG_DEV_BLOCK 1, CHAR 2. */
  readonly accessType: u32;
  readonly major: u32;
  readonly minor: u32;
}

/** `SEC("cgroup/dev")`: a device node opened or created by a process of the cgroup; return 1 to allow, 0 to refuse (EPERM). */
export declare function cgroupDevice(handler: (ctx: DeviceContext) => number): Program<"cgroup_device">;
