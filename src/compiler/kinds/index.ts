// The registry of program kinds: every kind file in this folder, by its `tsbpf/kernel` entry name.

import { btfTracepoint } from "./btf-tracepoint.js";
import { cgroupDevice } from "./cgroup-device.js";
import { cgroupSkb } from "./cgroup-skb.js";
import { cgroupSock } from "./cgroup-sock.js";
import { cgroupSockAddr } from "./cgroup-sock-addr.js";
import { cgroupSockopt } from "./cgroup-sockopt.js";
import { cgroupSysctl } from "./cgroup-sysctl.js";
import { iter, iterSleepable } from "./iter.js";
import { flowDissector } from "./flow-dissector.js";
import { fentry, fexit, fmodRet } from "./fentry.js";
import { freplace } from "./freplace.js";
import type { ProgramKind } from "./kind.js";
import { kprobe, kretprobe } from "./kprobe.js";
import { ksyscall, kretsyscall } from "./ksyscall.js";
import { kprobeMulti, kretprobeMulti, uprobeMulti, uretprobeMulti } from "./probe-multi.js";
import { fentrySleepable, fexitSleepable, lsmSleepable, uprobeSleepable, uretprobeSleepable } from "./sleepable.js";
import { lsm } from "./lsm.js";
import { lsmCgroup } from "./lsm-cgroup.js";
import { lwtIn, lwtOut, lwtXmit } from "./lwt.js";
import { netfilter } from "./netfilter.js";
import { perfEvent } from "./perf-event.js";
import { rawTracepoint } from "./raw-tracepoint.js";
import { skLookup } from "./sk-lookup.js";
import { skMsg } from "./sk-msg.js";
import { skReuseport } from "./sk-reuseport.js";
import { skSkb } from "./sk-skb.js";
import { socketFilter } from "./socket-filter.js";
import { sockOps } from "./sock-ops.js";
import { syscall } from "./syscall.js";
import { tc } from "./tc.js";
import { tcx } from "./tcx.js";
import { tracepoint } from "./tracepoint.js";
import { uprobe, uretprobe } from "./uprobe.js";
import { usdt } from "./usdt.js";
import { xdp } from "./xdp.js";
import { xdpDevmap } from "./xdp-devmap.js";
import { xdpFrags } from "./xdp-frags.js";

export type { ContextField, ContextMethod, ContextShape, HelperGroup, PacketShape, ProgramKind, ReturnRule } from "./kind.js";

const KINDS: readonly ProgramKind[] = [
  tracepoint, rawTracepoint, btfTracepoint, kprobe, kretprobe, uprobe, uretprobe, fentry, fexit, lsm,
  xdp, tc, socketFilter, cgroupSkb, perfEvent,
  usdt,
  iter, iterSleepable,
  skMsg, skSkb, skLookup, skReuseport, flowDissector,
  tcx, xdpFrags, netfilter, lwtIn, lwtOut, lwtXmit, xdpDevmap,
  sockOps, cgroupSockAddr, cgroupSock, cgroupSysctl, cgroupSockopt, cgroupDevice,
  ksyscall, kretsyscall, kprobeMulti, kretprobeMulti, uprobeMulti, uretprobeMulti, fmodRet,
  uprobeSleepable, uretprobeSleepable, fentrySleepable, fexitSleepable, lsmSleepable, syscall,
  freplace, lsmCgroup,
];

/** Program kinds by `tsbpf/kernel` entry function name. */
export const PROGRAM_KINDS: ReadonlyMap<string, ProgramKind> = new Map(KINDS.map((k) => [k.entry, k]));

/** Every `tsbpf/kernel` context type name: a parameter of one of these types is the program's context. */
export const CONTEXT_TYPES: ReadonlySet<string> = new Set(KINDS.flatMap((k) => k.contextTypes));
