// Which capability an operation needs, and whether this process has it: the effective set from
// /proc/self/status (CapEff), so that root with dropped capabilities is told what is missing and a
// refusal that is not about capabilities (file modes, read-only fds) is not blamed on them.

import { readFileSync } from "node:fs";

/** Capability numbers (linux/capability.h) tsbpf names in its messages. */
export const CAP = {
  NET_ADMIN: 12,
  SYS_ADMIN: 21,
  SYS_RESOURCE: 24,
  PERFMON: 38,
  BPF: 39,
} as const;

export type CapabilityName = keyof typeof CAP;

/**
 * What an operation needs: every group must be met by one of its capabilities (the kernel accepts
 * CAP_SYS_ADMIN in place of CAP_BPF, CAP_PERFMON and — for program loads — CAP_NET_ADMIN).
 */
export type CapabilityNeed = readonly (readonly CapabilityName[])[];

export const NEED_BPF: CapabilityNeed = [["BPF", "SYS_ADMIN"]];
export const NEED_SYS_ADMIN: CapabilityNeed = [["SYS_ADMIN"]];
export const NEED_PERFMON: CapabilityNeed = [["PERFMON", "SYS_ADMIN"]];
export const NEED_NET_ADMIN: CapabilityNeed = [["NET_ADMIN"]];

/** Parses the CapEff line of /proc/<pid>/status (hex bit set); undefined when absent. */
export function parseCapEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt("0x" + m[1]) : undefined;
}

/** This process's effective capability set, or undefined when /proc/self/status cannot be read. */
export function readEffectiveCapabilities(): bigint | undefined {
  try {
    return parseCapEff(readFileSync("/proc/self/status", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Whether /proc/self/uid_map text is the initial user namespace's: the whole 32-bit range mapped to
 * itself ("0 0 4294967295"). A process in any other user namespace may show every capability in
 * CapEff, yet the kernel's bpf() checks without a BPF token are made in the initial namespace.
 */
export function isInitialUidMap(uidMap: string): boolean {
  return /^\s*0\s+0\s+4294967295\s*$/.test(uidMap);
}

/** True in the initial user namespace, false in a child one, undefined when /proc/self/uid_map cannot be read. */
export function readInitialUserNamespace(): boolean | undefined {
  try {
    return isInitialUidMap(readFileSync("/proc/self/uid_map", "utf8"));
  } catch {
    return undefined;
  }
}

/** Every capability bit set (what root has when nothing was dropped). */
export const ALL_CAPABILITIES = (1n << 64n) - 1n;

export function hasCapability(set: bigint, cap: CapabilityName): boolean {
  return ((set >> BigInt(CAP[cap])) & 1n) === 1n;
}

/** The groups of `need` that `set` does not meet (empty when the need is met). */
export function unmetGroups(need: CapabilityNeed, set: bigint): CapabilityName[][] {
  return need.filter((group) => !group.some((c) => hasCapability(set, c))).map((g) => [...g]);
}

/** "CAP_BPF (or CAP_SYS_ADMIN)" for one group. */
export function describeGroup(group: readonly CapabilityName[]): string {
  const [first, ...rest] = group;
  return `CAP_${first}${rest.length ? ` (or ${rest.map((c) => `CAP_${c}`).join(" or ")})` : ""}`;
}

/** "lacks CAP_NET_ADMIN (or CAP_SYS_ADMIN) and CAP_BPF (or CAP_SYS_ADMIN)". */
export function describeMissing(groups: readonly (readonly CapabilityName[])[]): string {
  return `lacks ${groups.map(describeGroup).join(" and ")}`;
}

/** Program types the kernel loads only with CAP_NET_ADMIN (or CAP_SYS_ADMIN), as kernel/bpf/syscall.c lists them. */
const NET_ADMIN_PROGRAMS = new Set([
  "SCHED_CLS", "SCHED_ACT", "XDP", "LWT_IN", "LWT_OUT", "LWT_XMIT", "LWT_SEG6LOCAL", "SK_SKB", "SK_MSG",
  "FLOW_DISSECTOR", "CGROUP_DEVICE", "CGROUP_SOCK", "CGROUP_SOCK_ADDR", "CGROUP_SOCKOPT", "CGROUP_SYSCTL",
  "SOCK_OPS", "EXT", "NETFILTER",
]);
/** Program types the kernel loads only with CAP_PERFMON (or CAP_SYS_ADMIN). */
const PERFMON_PROGRAMS = new Set([
  "KPROBE", "TRACEPOINT", "PERF_EVENT", "RAW_TRACEPOINT", "RAW_TRACEPOINT_WRITABLE", "TRACING", "LSM", "STRUCT_OPS", "EXT",
]);

/** What BPF_PROG_LOAD of a program type (tsbpf's name, e.g. "XDP") needs. */
export function programLoadNeed(type: string): CapabilityNeed {
  return [
    ...NEED_BPF,
    ...(NET_ADMIN_PROGRAMS.has(type) ? [["NET_ADMIN", "SYS_ADMIN"] as const] : []),
    ...(PERFMON_PROGRAMS.has(type) ? NEED_PERFMON : []),
  ];
}
