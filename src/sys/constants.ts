// Kernel ABI numbers used by the sys layer: bpf(2) commands, map/program/attach/link types, flags,
// perf_event and ioctl numbers. Values follow include/uapi/linux/bpf.h and perf_event.h (checked in tests).

import { PseudoCall, PseudoLoad } from "../asm/opcode.js";
export { HELPER_IDS, type HelperName } from "./helper-ids.js";
import { HELPER_IDS } from "./helper-ids.js";

/** bpf(2) commands (enum bpf_cmd). */
export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
} as const;
export type BpfCmd = (typeof BPF_CMD)[keyof typeof BPF_CMD];

/** Map types (enum bpf_map_type). */
export const MAP_TYPE = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;
export type MapType = (typeof MAP_TYPE)[keyof typeof MAP_TYPE];

/** Program types (enum bpf_prog_type). */
export const PROG_TYPE = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;
export type ProgType = (typeof PROG_TYPE)[keyof typeof PROG_TYPE];

/** Attach types (enum bpf_attach_type), used by PROG_LOAD's expected_attach_type, PROG_ATTACH and LINK_CREATE. */
export const ATTACH_TYPE = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
} as const;
export type AttachType = (typeof ATTACH_TYPE)[keyof typeof ATTACH_TYPE];

/** BPF link types (enum bpf_link_type), reported by bpf_link_info.type. */
export const LINK_TYPE = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;
export type LinkType = (typeof LINK_TYPE)[keyof typeof LINK_TYPE];

/** Flags for MAP_UPDATE_ELEM / MAP_LOOKUP_ELEM (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK). */
export const UPDATE_FLAGS = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  LOCK: 4,
} as const;

/** MAP_CREATE map_flags (BPF_F_*). */
export const MAP_FLAGS = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;

/** BTF_LOAD btf_flags (BPF_F_*). */
export const BTF_FLAGS = {
  TOKEN_FD: 1 << 16,
} as const;

/** PROG_LOAD prog_flags (BPF_F_*). */
export const PROG_FLAGS = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
  TOKEN_FD: 1 << 16,
} as const;

/** PROG_ATTACH / PROG_DETACH / mprog attach_flags (BPF_F_*). */
export const ATTACH_FLAGS = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  LINK: 1 << 13,
} as const;

/** OBJ_GET / *_GET_FD_BY_ID file_flags / open_flags. */
export const FILE_FLAGS = {
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  PATH_FD: 1 << 14,
} as const;

/** PROG_QUERY query_flags. */
export const QUERY_FLAGS = {
  EFFECTIVE: 1 << 0,
} as const;

/** PROG_TEST_RUN flags. */
export const TEST_RUN_FLAGS = {
  ON_CPU: 1 << 0,
  XDP_LIVE_FRAMES: 1 << 1,
  SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;

/** link_create.kprobe_multi.flags / uprobe_multi.flags / netfilter.flags. */
export const LINK_FLAGS = {
  KPROBE_MULTI_RETURN: 1 << 0,
  UPROBE_MULTI_RETURN: 1 << 0,
  NETFILTER_IP_DEFRAG: 1 << 0,
} as const;

/** ENABLE_STATS types (enum bpf_stats_type). */
export const STATS_TYPE = {
  RUN_TIME: 0,
} as const;

/** src_reg values that mark special BPF_LD_IMM64 instructions (defined once, in the asm layer). */
export const PSEUDO_LD = PseudoLoad;

/** src_reg values of BPF_CALL instructions: helper (0), bpf-to-bpf call, kfunc call. */
export const PSEUDO_CALL = { HELPER: PseudoCall.HELPER, CALL: PseudoCall.CALL, KFUNC_CALL: PseudoCall.KFUNC } as const;

/** Sizes fixed by the UAPI. */
export const BPF_OBJ_NAME_LEN = 16;
export const BPF_TAG_SIZE = 8;

/** Ring buffer record header bits (struct bpf_ringbuf_hdr.len). */
export const RINGBUF = {
  BUSY_BIT: 0x80000000,
  DISCARD_BIT: 0x40000000,
  HDR_SZ: 8,
} as const;

/** perf_event_attr.type (enum perf_type_id). Dynamic PMUs (kprobe, uprobe) read their type from sysfs. */
export const PERF_TYPE = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;

/** perf_event_attr.config for PERF_TYPE_SOFTWARE (enum perf_sw_ids). */
export const PERF_COUNT_SW = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
  CGROUP_SWITCHES: 11,
} as const;

/** perf_event_attr.sample_type bits (enum perf_event_sample_format). */
export const PERF_SAMPLE = {
  IP: 1 << 0,
  TID: 1 << 1,
  TIME: 1 << 2,
  ADDR: 1 << 3,
  READ: 1 << 4,
  CALLCHAIN: 1 << 5,
  ID: 1 << 6,
  CPU: 1 << 7,
  PERIOD: 1 << 8,
  STREAM_ID: 1 << 9,
  RAW: 1 << 10,
} as const;

/** perf_event_open flags (PERF_FLAG_*). */
export const PERF_FLAG = {
  FD_NO_GROUP: 1 << 0,
  FD_OUTPUT: 1 << 1,
  PID_CGROUP: 1 << 2,
  FD_CLOEXEC: 1 << 3,
} as const;

/** perf_event_mmap_page record types used by perf buffers (enum perf_event_type). */
export const PERF_RECORD = {
  LOST: 2,
  SAMPLE: 9,
} as const;

/** ioctl request numbers on perf event fds (_IO/_IOW('$', n, ...) on x86-64, arm64, riscv). */
export const PERF_EVENT_IOC = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  REFRESH: 0x2402,
  RESET: 0x2403,
  PERIOD: 0x40082404,
  SET_OUTPUT: 0x2405,
  SET_FILTER: 0x40082406,
  ID: 0x80082407,
  SET_BPF: 0x40042408,
  PAUSE_OUTPUT: 0x40042409,
} as const;

/** bpf_perf_event_type, reported by bpf_link_info.perf_event.type and TASK_FD_QUERY. */
export const PERF_EVENT_LINK_TYPE = {
  UNSPEC: 0,
  UPROBE: 1,
  URETPROBE: 2,
  KPROBE: 3,
  KRETPROBE: 4,
  TRACEPOINT: 5,
  EVENT: 6,
} as const;

/** setrlimit/getrlimit resources (Linux generic numbering, used by x86-64 and arm64). */
export const RLIMIT = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
} as const;

/** RLIM_INFINITY as returned by getrlimit. */
export const RLIM_INFINITY = 2n ** 64n - 1n;

/** mmap protection and flags. */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02, FIXED: 0x10, ANONYMOUS: 0x20 } as const;

/** Readiness events for poll() (libuv's UV_READABLE, UV_WRITABLE, UV_DISCONNECT, UV_PRIORITIZED). */
export const POLL = { READABLE: 1, WRITABLE: 2, DISCONNECT: 4, PRIORITIZED: 8 } as const;

/** Socket constants used for netlink. */
export const SOCKET = {
  AF_UNSPEC: 0,
  AF_INET: 2,
  AF_NETLINK: 16,
  SOCK_RAW: 3,
  SOCK_DGRAM: 2,
  SOCK_CLOEXEC: 0o2000000,
  SOCK_NONBLOCK: 0o4000,
  SOL_NETLINK: 270,
  NETLINK_ROUTE: 0,
  NETLINK_EXT_ACK: 11,
  NETLINK_GET_STRICT_CHK: 12,
  MSG_DONTWAIT: 0x40,
  MSG_PEEK: 0x02,
  MSG_TRUNC: 0x20,
} as const;

/** mount(2) flags. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  RELATIME: 1 << 21,
} as const;

/** renameat2(2) flags. */
export const RENAME = {
  NOREPLACE: 1,
  EXCHANGE: 2,
} as const;

function invert(table: Record<string, number>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(table)) if (!out.has(v)) out.set(v, k);
  return out;
}

const cmdNames = invert(BPF_CMD);
const mapTypeNames = invert(MAP_TYPE);
const progTypeNames = invert(PROG_TYPE);
const attachTypeNames = invert(ATTACH_TYPE);
const linkTypeNames = invert(LINK_TYPE);
const helperNames = invert(HELPER_IDS);

/** `BPF_MAP_CREATE` for 0; `BPF_CMD_99` for an unknown command. */
export function bpfCmdName(cmd: number): string {
  return "BPF_" + (cmdNames.get(cmd) ?? `CMD_${cmd}`);
}

/** `BPF_MAP_TYPE_HASH` for 1; `BPF_MAP_TYPE_99` when unknown. */
export function mapTypeName(type: number): string {
  return "BPF_MAP_TYPE_" + (mapTypeNames.get(type) ?? String(type));
}

/** `BPF_PROG_TYPE_XDP` for 6; `BPF_PROG_TYPE_99` when unknown. */
export function progTypeName(type: number): string {
  return "BPF_PROG_TYPE_" + (progTypeNames.get(type) ?? String(type));
}

/** `BPF_XDP` for 37; `BPF_ATTACH_TYPE_99` when unknown. */
export function attachTypeName(type: number): string {
  const n = attachTypeNames.get(type);
  return n ? "BPF_" + n : `BPF_ATTACH_TYPE_${type}`;
}

/** `BPF_LINK_TYPE_XDP` for 6; `BPF_LINK_TYPE_99` when unknown. */
export function linkTypeName(type: number): string {
  return "BPF_LINK_TYPE_" + (linkTypeNames.get(type) ?? String(type));
}

/** `bpf_map_lookup_elem` for 1; `helper#999` when unknown. */
export function helperName(id: number): string {
  const n = helperNames.get(id);
  return n ? "bpf_" + n : `helper#${id}`;
}

/** The id of a helper, accepting `bpf_ringbuf_output` or `ringbuf_output`; undefined when unknown. */
export function helperId(name: string): number | undefined {
  const key = name.startsWith("bpf_") ? name.slice(4) : name;
  return Object.hasOwn(HELPER_IDS, key) ? HELPER_IDS[key as keyof typeof HELPER_IDS] : undefined;
}
