// The registry of program kinds: every kind file in this folder, by its `tsbpf/kernel` entry name.

import { btfTracepoint } from "./btf-tracepoint.js";
import { cgroupSkb } from "./cgroup-skb.js";
import { fentry, fexit, fmodRet } from "./fentry.js";
import type { ProgramKind } from "./kind.js";
import { kprobe, kretprobe } from "./kprobe.js";
import { ksyscall, kretsyscall } from "./ksyscall.js";
import { kprobeMulti, kretprobeMulti, uprobeMulti, uretprobeMulti } from "./probe-multi.js";
import { fentrySleepable, fexitSleepable, lsmSleepable, uprobeSleepable, uretprobeSleepable } from "./sleepable.js";
import { lsm } from "./lsm.js";
import { perfEvent } from "./perf-event.js";
import { rawTracepoint } from "./raw-tracepoint.js";
import { socketFilter } from "./socket-filter.js";
import { syscall } from "./syscall.js";
import { tc } from "./tc.js";
import { tracepoint } from "./tracepoint.js";
import { uprobe, uretprobe } from "./uprobe.js";
import { xdp } from "./xdp.js";

export type { ContextField, ContextMethod, ContextShape, HelperGroup, PacketShape, ProgramKind, ReturnRule } from "./kind.js";

const KINDS: readonly ProgramKind[] = [
  tracepoint, rawTracepoint, btfTracepoint, kprobe, kretprobe, uprobe, uretprobe, fentry, fexit, lsm,
  xdp, tc, socketFilter, cgroupSkb, perfEvent,
  ksyscall, kretsyscall, kprobeMulti, kretprobeMulti, uprobeMulti, uretprobeMulti, fmodRet,
  uprobeSleepable, uretprobeSleepable, fentrySleepable, fexitSleepable, lsmSleepable, syscall,
];

/** Program kinds by `tsbpf/kernel` entry function name. */
export const PROGRAM_KINDS: ReadonlyMap<string, ProgramKind> = new Map(KINDS.map((k) => [k.entry, k]));

/** Every `tsbpf/kernel` context type name: a parameter of one of these types is the program's context. */
export const CONTEXT_TYPES: ReadonlySet<string> = new Set(KINDS.flatMap((k) => k.contextTypes));
