// ELF section names → program type, expected attach type and attach target, following the SEC()
// conventions libbpf defines, so objects written for libbpf mean the same thing here.

import type { ATTACH_TYPE, PROG_TYPE } from "../sys/constants.js";

/** Kernel program type, named as in `enum bpf_prog_type` without the `BPF_PROG_TYPE_` prefix. */
export type ProgramTypeName = Exclude<keyof typeof PROG_TYPE, "UNSPEC">;

/** Attach type, named as in `enum bpf_attach_type` without the `BPF_` prefix. */
export type AttachTypeName = keyof typeof ATTACH_TYPE;

/** How a program of this section is attached (drives `Program.attach()` with no arguments). */
export type AttachKind =
  | "none" | "kprobe" | "kretprobe" | "kprobe_multi" | "kretprobe_multi" | "kprobe_session"
  | "ksyscall" | "kretsyscall" | "uprobe" | "uretprobe" | "uprobe_multi" | "uretprobe_multi"
  | "uprobe_session" | "usdt" | "tracepoint" | "raw_tracepoint" | "tracing" | "lsm" | "iter"
  | "xdp" | "tc" | "tcx" | "netkit" | "cgroup" | "sk" | "struct_ops" | "perf_event" | "netfilter"
  | "sk_lookup" | "flow_dissector" | "lirc";

interface SectionDef {
  /** Section name or prefix; a trailing `+` means "exactly this, or this followed by `/target`". */
  readonly sec: string;
  readonly type: ProgramTypeName;
  readonly attachType?: AttachTypeName;
  readonly attach: AttachKind;
  readonly sleepable?: boolean;
  /** The target is resolved against kernel BTF (attach_btf_id). */
  readonly btf?: boolean;
  /** XDP program that accepts multi-buffer frames (BPF_F_XDP_HAS_FRAGS). */
  readonly frags?: boolean;
}

// Order matters: more specific names come before the names they extend, as in libbpf.
const DEFS: readonly SectionDef[] = [
  { sec: "socket", type: "SOCKET_FILTER", attach: "sk" },
  { sec: "sk_reuseport/migrate", type: "SK_REUSEPORT", attachType: "SK_REUSEPORT_SELECT_OR_MIGRATE", attach: "sk" },
  { sec: "sk_reuseport", type: "SK_REUSEPORT", attachType: "SK_REUSEPORT_SELECT", attach: "sk" },
  { sec: "kprobe+", type: "KPROBE", attach: "kprobe" },
  { sec: "uprobe+", type: "KPROBE", attach: "uprobe" },
  { sec: "uprobe.s+", type: "KPROBE", attach: "uprobe", sleepable: true },
  { sec: "kretprobe+", type: "KPROBE", attach: "kretprobe" },
  { sec: "uretprobe+", type: "KPROBE", attach: "uretprobe" },
  { sec: "uretprobe.s+", type: "KPROBE", attach: "uretprobe", sleepable: true },
  { sec: "kprobe.multi+", type: "KPROBE", attachType: "TRACE_KPROBE_MULTI", attach: "kprobe_multi" },
  { sec: "kretprobe.multi+", type: "KPROBE", attachType: "TRACE_KPROBE_MULTI", attach: "kretprobe_multi" },
  { sec: "kprobe.session+", type: "KPROBE", attachType: "TRACE_KPROBE_SESSION", attach: "kprobe_session" },
  { sec: "uprobe.multi+", type: "KPROBE", attachType: "TRACE_UPROBE_MULTI", attach: "uprobe_multi" },
  { sec: "uretprobe.multi+", type: "KPROBE", attachType: "TRACE_UPROBE_MULTI", attach: "uretprobe_multi" },
  { sec: "uprobe.multi.s+", type: "KPROBE", attachType: "TRACE_UPROBE_MULTI", attach: "uprobe_multi", sleepable: true },
  { sec: "uretprobe.multi.s+", type: "KPROBE", attachType: "TRACE_UPROBE_MULTI", attach: "uretprobe_multi", sleepable: true },
  { sec: "uprobe.session+", type: "KPROBE", attachType: "TRACE_UPROBE_SESSION", attach: "uprobe_session" },
  { sec: "uprobe.session.s+", type: "KPROBE", attachType: "TRACE_UPROBE_SESSION", attach: "uprobe_session", sleepable: true },
  { sec: "ksyscall+", type: "KPROBE", attach: "ksyscall" },
  { sec: "kretsyscall+", type: "KPROBE", attach: "kretsyscall" },
  { sec: "usdt+", type: "KPROBE", attach: "usdt" },
  { sec: "usdt.s+", type: "KPROBE", attach: "usdt", sleepable: true },
  { sec: "tc/ingress", type: "SCHED_CLS", attachType: "TCX_INGRESS", attach: "tcx" },
  { sec: "tc/egress", type: "SCHED_CLS", attachType: "TCX_EGRESS", attach: "tcx" },
  { sec: "tcx/ingress", type: "SCHED_CLS", attachType: "TCX_INGRESS", attach: "tcx" },
  { sec: "tcx/egress", type: "SCHED_CLS", attachType: "TCX_EGRESS", attach: "tcx" },
  { sec: "tc", type: "SCHED_CLS", attach: "tc" },
  { sec: "classifier", type: "SCHED_CLS", attach: "tc" },
  { sec: "action", type: "SCHED_ACT", attach: "none" },
  { sec: "netkit/primary", type: "SCHED_CLS", attachType: "NETKIT_PRIMARY", attach: "netkit" },
  { sec: "netkit/peer", type: "SCHED_CLS", attachType: "NETKIT_PEER", attach: "netkit" },
  { sec: "tracepoint+", type: "TRACEPOINT", attach: "tracepoint" },
  { sec: "tp+", type: "TRACEPOINT", attach: "tracepoint" },
  { sec: "raw_tracepoint+", type: "RAW_TRACEPOINT", attach: "raw_tracepoint" },
  { sec: "raw_tp+", type: "RAW_TRACEPOINT", attach: "raw_tracepoint" },
  { sec: "raw_tracepoint.w+", type: "RAW_TRACEPOINT_WRITABLE", attach: "raw_tracepoint" },
  { sec: "raw_tp.w+", type: "RAW_TRACEPOINT_WRITABLE", attach: "raw_tracepoint" },
  { sec: "tp_btf+", type: "TRACING", attachType: "TRACE_RAW_TP", attach: "tracing", btf: true },
  { sec: "fentry+", type: "TRACING", attachType: "TRACE_FENTRY", attach: "tracing", btf: true },
  { sec: "fmod_ret+", type: "TRACING", attachType: "MODIFY_RETURN", attach: "tracing", btf: true },
  { sec: "fexit+", type: "TRACING", attachType: "TRACE_FEXIT", attach: "tracing", btf: true },
  { sec: "fentry.s+", type: "TRACING", attachType: "TRACE_FENTRY", attach: "tracing", btf: true, sleepable: true },
  { sec: "fmod_ret.s+", type: "TRACING", attachType: "MODIFY_RETURN", attach: "tracing", btf: true, sleepable: true },
  { sec: "fexit.s+", type: "TRACING", attachType: "TRACE_FEXIT", attach: "tracing", btf: true, sleepable: true },
  { sec: "freplace+", type: "EXT", attach: "tracing", btf: true },
  { sec: "lsm+", type: "LSM", attachType: "LSM_MAC", attach: "lsm", btf: true },
  { sec: "lsm.s+", type: "LSM", attachType: "LSM_MAC", attach: "lsm", btf: true, sleepable: true },
  { sec: "lsm_cgroup+", type: "LSM", attachType: "LSM_CGROUP", attach: "cgroup", btf: true },
  { sec: "iter+", type: "TRACING", attachType: "TRACE_ITER", attach: "iter", btf: true },
  { sec: "iter.s+", type: "TRACING", attachType: "TRACE_ITER", attach: "iter", btf: true, sleepable: true },
  { sec: "syscall", type: "SYSCALL", attach: "none", sleepable: true },
  { sec: "xdp.frags/devmap", type: "XDP", attachType: "XDP_DEVMAP", attach: "none", frags: true },
  { sec: "xdp/devmap", type: "XDP", attachType: "XDP_DEVMAP", attach: "none" },
  { sec: "xdp.frags/cpumap", type: "XDP", attachType: "XDP_CPUMAP", attach: "none", frags: true },
  { sec: "xdp/cpumap", type: "XDP", attachType: "XDP_CPUMAP", attach: "none" },
  { sec: "xdp.frags", type: "XDP", attachType: "XDP", attach: "xdp", frags: true },
  { sec: "xdp", type: "XDP", attachType: "XDP", attach: "xdp" },
  { sec: "perf_event", type: "PERF_EVENT", attach: "perf_event" },
  { sec: "lwt_in", type: "LWT_IN", attach: "none" },
  { sec: "lwt_out", type: "LWT_OUT", attach: "none" },
  { sec: "lwt_xmit", type: "LWT_XMIT", attach: "none" },
  { sec: "lwt_seg6local", type: "LWT_SEG6LOCAL", attach: "none" },
  { sec: "sockops", type: "SOCK_OPS", attachType: "CGROUP_SOCK_OPS", attach: "cgroup" },
  { sec: "sk_skb/stream_parser", type: "SK_SKB", attachType: "SK_SKB_STREAM_PARSER", attach: "sk" },
  { sec: "sk_skb/stream_verdict", type: "SK_SKB", attachType: "SK_SKB_STREAM_VERDICT", attach: "sk" },
  { sec: "sk_skb/verdict", type: "SK_SKB", attachType: "SK_SKB_VERDICT", attach: "sk" },
  { sec: "sk_skb", type: "SK_SKB", attach: "sk" },
  { sec: "sk_msg", type: "SK_MSG", attachType: "SK_MSG_VERDICT", attach: "sk" },
  { sec: "lirc_mode2", type: "LIRC_MODE2", attachType: "LIRC_MODE2", attach: "lirc" },
  { sec: "flow_dissector", type: "FLOW_DISSECTOR", attachType: "FLOW_DISSECTOR", attach: "flow_dissector" },
  { sec: "cgroup_skb/ingress", type: "CGROUP_SKB", attachType: "CGROUP_INET_INGRESS", attach: "cgroup" },
  { sec: "cgroup_skb/egress", type: "CGROUP_SKB", attachType: "CGROUP_INET_EGRESS", attach: "cgroup" },
  { sec: "cgroup/skb", type: "CGROUP_SKB", attach: "cgroup" },
  { sec: "cgroup/sock_create", type: "CGROUP_SOCK", attachType: "CGROUP_INET_SOCK_CREATE", attach: "cgroup" },
  { sec: "cgroup/sock_release", type: "CGROUP_SOCK", attachType: "CGROUP_INET_SOCK_RELEASE", attach: "cgroup" },
  { sec: "cgroup/sock", type: "CGROUP_SOCK", attachType: "CGROUP_INET_SOCK_CREATE", attach: "cgroup" },
  { sec: "cgroup/post_bind4", type: "CGROUP_SOCK", attachType: "CGROUP_INET4_POST_BIND", attach: "cgroup" },
  { sec: "cgroup/post_bind6", type: "CGROUP_SOCK", attachType: "CGROUP_INET6_POST_BIND", attach: "cgroup" },
  { sec: "cgroup/bind4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET4_BIND", attach: "cgroup" },
  { sec: "cgroup/bind6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET6_BIND", attach: "cgroup" },
  { sec: "cgroup/connect4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET4_CONNECT", attach: "cgroup" },
  { sec: "cgroup/connect6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET6_CONNECT", attach: "cgroup" },
  { sec: "cgroup/connect_unix", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UNIX_CONNECT", attach: "cgroup" },
  { sec: "cgroup/sendmsg4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UDP4_SENDMSG", attach: "cgroup" },
  { sec: "cgroup/sendmsg6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UDP6_SENDMSG", attach: "cgroup" },
  { sec: "cgroup/sendmsg_unix", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UNIX_SENDMSG", attach: "cgroup" },
  { sec: "cgroup/recvmsg4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UDP4_RECVMSG", attach: "cgroup" },
  { sec: "cgroup/recvmsg6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UDP6_RECVMSG", attach: "cgroup" },
  { sec: "cgroup/recvmsg_unix", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UNIX_RECVMSG", attach: "cgroup" },
  { sec: "cgroup/getpeername4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET4_GETPEERNAME", attach: "cgroup" },
  { sec: "cgroup/getpeername6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET6_GETPEERNAME", attach: "cgroup" },
  { sec: "cgroup/getpeername_unix", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UNIX_GETPEERNAME", attach: "cgroup" },
  { sec: "cgroup/getsockname4", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET4_GETSOCKNAME", attach: "cgroup" },
  { sec: "cgroup/getsockname6", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_INET6_GETSOCKNAME", attach: "cgroup" },
  { sec: "cgroup/getsockname_unix", type: "CGROUP_SOCK_ADDR", attachType: "CGROUP_UNIX_GETSOCKNAME", attach: "cgroup" },
  { sec: "cgroup/sysctl", type: "CGROUP_SYSCTL", attachType: "CGROUP_SYSCTL", attach: "cgroup" },
  { sec: "cgroup/getsockopt", type: "CGROUP_SOCKOPT", attachType: "CGROUP_GETSOCKOPT", attach: "cgroup" },
  { sec: "cgroup/setsockopt", type: "CGROUP_SOCKOPT", attachType: "CGROUP_SETSOCKOPT", attach: "cgroup" },
  { sec: "cgroup/dev", type: "CGROUP_DEVICE", attachType: "CGROUP_DEVICE", attach: "cgroup" },
  { sec: "struct_ops+", type: "STRUCT_OPS", attach: "struct_ops" },
  { sec: "struct_ops.s+", type: "STRUCT_OPS", attach: "struct_ops", sleepable: true },
  { sec: "sk_lookup", type: "SK_LOOKUP", attachType: "SK_LOOKUP", attach: "sk_lookup" },
  { sec: "netfilter", type: "NETFILTER", attachType: "NETFILTER", attach: "netfilter" },
];

/** What a section name says about the programs in it. */
export interface SectionInfo {
  readonly type: ProgramTypeName;
  readonly attachType: AttachTypeName | undefined;
  readonly attach: AttachKind;
  /** Text after `prefix/`, e.g. `sched/sched_process_exec` for `tracepoint/sched/sched_process_exec`. */
  readonly target: string;
  readonly sleepable: boolean;
  /** attach_btf_id must be resolved from `target` against kernel BTF before loading. */
  readonly needsBtfTarget: boolean;
  readonly xdpFrags: boolean;
}

/**
 * Classify an ELF section name by libbpf's SEC() conventions.
 * Returns undefined when no convention matches.
 *
 * @example
 * sectionInfo("tracepoint/sched/sched_process_exec")
 * // → { type: "TRACEPOINT", attach: "tracepoint", target: "sched/sched_process_exec", ... }
 */
export function sectionInfo(name: string): SectionInfo | undefined {
  for (const def of DEFS) {
    const plus = def.sec.endsWith("+");
    const base = plus ? def.sec.slice(0, -1) : def.sec;
    let target: string;
    if (name === base) target = "";
    else if (plus && name.startsWith(base + "/")) target = name.slice(base.length + 1);
    else continue;
    return {
      type: def.type,
      attachType: def.attachType,
      attach: def.attach,
      target,
      sleepable: def.sleepable ?? false,
      needsBtfTarget: def.btf ?? false,
      xdpFrags: def.frags ?? false,
    };
  }
  return undefined;
}

/** Every section prefix tsbpf understands (for help texts and error messages). */
export function knownSections(): string[] {
  return DEFS.map((d) => (d.sec.endsWith("+") ? d.sec.slice(0, -1) + "[/target]" : d.sec));
}
