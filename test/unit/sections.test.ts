// The SEC() name table: program type, expected attach type, attach kind and target for the names
// libbpf defines, including the "exactly, or followed by /target" rule for names ending in '+'.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sectionInfo } from "../../src/object/sections.js";

const cases: [string, string, string | undefined, string, string][] = [
  // section, type, attach type, attach kind, target
  ["socket", "SOCKET_FILTER", undefined, "sk", ""],
  ["kprobe/do_sys_open", "KPROBE", undefined, "kprobe", "do_sys_open"],
  ["kretprobe/do_sys_open", "KPROBE", undefined, "kretprobe", "do_sys_open"],
  ["uprobe//proc/self/exe:main", "KPROBE", undefined, "uprobe", "/proc/self/exe:main"],
  ["uprobe.s/libc.so.6:malloc", "KPROBE", undefined, "uprobe", "libc.so.6:malloc"],
  ["kprobe.multi/tcp_*", "KPROBE", "TRACE_KPROBE_MULTI", "kprobe_multi", "tcp_*"],
  ["uprobe.multi/libc.so.6:*alloc", "KPROBE", "TRACE_UPROBE_MULTI", "uprobe_multi", "libc.so.6:*alloc"],
  ["ksyscall/openat", "KPROBE", undefined, "ksyscall", "openat"],
  ["usdt/libc.so.6:libc:setjmp", "KPROBE", undefined, "usdt", "libc.so.6:libc:setjmp"],
  ["tracepoint/sched/sched_process_exec", "TRACEPOINT", undefined, "tracepoint", "sched/sched_process_exec"],
  ["tp/syscalls/sys_enter_getpid", "TRACEPOINT", undefined, "tracepoint", "syscalls/sys_enter_getpid"],
  ["raw_tracepoint/sys_enter", "RAW_TRACEPOINT", undefined, "raw_tracepoint", "sys_enter"],
  ["raw_tp.w/bpf_test_finish", "RAW_TRACEPOINT_WRITABLE", undefined, "raw_tracepoint", "bpf_test_finish"],
  ["tp_btf/sched_switch", "TRACING", "TRACE_RAW_TP", "tracing", "sched_switch"],
  ["fentry/do_nanosleep", "TRACING", "TRACE_FENTRY", "tracing", "do_nanosleep"],
  ["fexit.s/do_nanosleep", "TRACING", "TRACE_FEXIT", "tracing", "do_nanosleep"],
  ["fmod_ret/security_file_open", "TRACING", "MODIFY_RETURN", "tracing", "security_file_open"],
  ["lsm/file_open", "LSM", "LSM_MAC", "lsm", "file_open"],
  ["lsm_cgroup/socket_bind", "LSM", "LSM_CGROUP", "cgroup", "socket_bind"],
  ["iter/task", "TRACING", "TRACE_ITER", "iter", "task"],
  ["syscall", "SYSCALL", undefined, "none", ""],
  ["xdp", "XDP", "XDP", "xdp", ""],
  ["xdp.frags", "XDP", "XDP", "xdp", ""],
  ["xdp/devmap", "XDP", "XDP_DEVMAP", "none", ""],
  ["tc", "SCHED_CLS", undefined, "tc", ""],
  ["classifier", "SCHED_CLS", undefined, "tc", ""],
  ["tcx/ingress", "SCHED_CLS", "TCX_INGRESS", "tcx", ""],
  ["tc/egress", "SCHED_CLS", "TCX_EGRESS", "tcx", ""],
  ["netkit/peer", "SCHED_CLS", "NETKIT_PEER", "netkit", ""],
  ["cgroup_skb/ingress", "CGROUP_SKB", "CGROUP_INET_INGRESS", "cgroup", ""],
  ["cgroup/connect4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT", "cgroup", ""],
  ["cgroup/sendmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_SENDMSG", "cgroup", ""],
  ["cgroup/sock", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", "cgroup", ""],
  ["cgroup/dev", "CGROUP_DEVICE", "CGROUP_DEVICE", "cgroup", ""],
  ["cgroup/sysctl", "CGROUP_SYSCTL", "CGROUP_SYSCTL", "cgroup", ""],
  ["cgroup/getsockopt", "CGROUP_SOCKOPT", "CGROUP_GETSOCKOPT", "cgroup", ""],
  ["sockops", "SOCK_OPS", "CGROUP_SOCK_OPS", "cgroup", ""],
  ["sk_skb/stream_verdict", "SK_SKB", "SK_SKB_STREAM_VERDICT", "sk", ""],
  ["sk_msg", "SK_MSG", "SK_MSG_VERDICT", "sk", ""],
  ["sk_lookup", "SK_LOOKUP", "SK_LOOKUP", "sk_lookup", ""],
  ["sk_reuseport/migrate", "SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE", "sk", ""],
  ["flow_dissector", "FLOW_DISSECTOR", "FLOW_DISSECTOR", "flow_dissector", ""],
  ["perf_event", "PERF_EVENT", undefined, "perf_event", ""],
  ["struct_ops/dctcp_init", "STRUCT_OPS", undefined, "struct_ops", "dctcp_init"],
  ["netfilter", "NETFILTER", "NETFILTER", "netfilter", ""],
  ["lwt_xmit", "LWT_XMIT", undefined, "none", ""],
];

for (const [sec, type, attachType, attach, target] of cases) {
  test(`SEC("${sec}")`, () => {
    const info = sectionInfo(sec);
    assert.ok(info, `${sec} is known`);
    assert.equal(info.type, type);
    assert.equal(info.attachType, attachType);
    assert.equal(info.attach, attach);
    assert.equal(info.target, target);
  });
}

test("sleepable and BTF-target flags come from the section", () => {
  assert.equal(sectionInfo("fentry.s/x")!.sleepable, true);
  assert.equal(sectionInfo("fentry/x")!.sleepable, false);
  assert.equal(sectionInfo("fentry/x")!.needsBtfTarget, true);
  assert.equal(sectionInfo("syscall")!.sleepable, true);
  assert.equal(sectionInfo("xdp.frags")!.xdpFrags, true);
});

test("names that only look like known sections are not accepted", () => {
  for (const sec of ["bogus", "xdp_foo", "kprobex/foo", "tracepointfoo", "socket/extra", ".text", "tcx"]) {
    assert.equal(sectionInfo(sec), undefined, sec);
  }
});
