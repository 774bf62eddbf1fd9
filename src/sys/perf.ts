// perf_event_attr encoder and perf_event_open/ioctl wrappers for tracepoint, kprobe and uprobe events.
// Dynamic PMU types (kprobe, uprobe) and tracepoint ids are read from sysfs/tracefs here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TsbpfError } from "../errors.js";
import { cString, type Attr } from "./attr.js";
import { PERF_EVENT_IOC, PERF_FLAG, PERF_TYPE } from "./constants.js";
import { Fd, fdValue, type FdLike } from "./fd.js";
import { bits, layout, s32, StructWriter, u16, u32, u64, type Layout } from "./layout.js";
import { sys, withPinned } from "./seam.js";
import { tracefsPath } from "./system.js";

/** Bit positions of the perf_event_attr flag word (offset 40). */
export const PERF_ATTR_FLAG_BITS = {
  disabled: 0,
  inherit: 1,
  pinned: 2,
  exclusive: 3,
  exclude_user: 4,
  exclude_kernel: 5,
  exclude_hv: 6,
  exclude_idle: 7,
  mmap: 8,
  comm: 9,
  freq: 10,
  inherit_stat: 11,
  enable_on_exec: 12,
  task: 13,
  watermark: 14,
  mmap_data: 17,
  sample_id_all: 18,
  exclude_host: 19,
  exclude_guest: 20,
  exclude_callchain_kernel: 21,
  exclude_callchain_user: 22,
  mmap2: 23,
  comm_exec: 24,
  use_clockid: 25,
  context_switch: 26,
  write_backward: 27,
  namespaces: 28,
  ksymbol: 29,
  bpf_event: 30,
  aux_output: 31,
  cgroup: 32,
  text_poke: 33,
  build_id: 34,
  inherit_thread: 35,
  remove_on_exec: 36,
  sigtrap: 37,
} as const;
export type PerfAttrFlag = keyof typeof PERF_ATTR_FLAG_BITS;

const flagFields = Object.fromEntries(
  Object.entries(PERF_ATTR_FLAG_BITS).map(([k, bit]) => [k, bits(40, 8, bit)]),
) as Record<PerfAttrFlag, ReturnType<typeof bits>>;

/** struct perf_event_attr up to sig_data (PERF_ATTR_SIZE_VER7, 128 bytes). */
export const PERF_EVENT_ATTR_LAYOUT = layout("perf_event_attr", "struct perf_event_attr", "", {
  type: u32(0),
  size: u32(4),
  config: u64(8),
  sample_period: u64(16),
  sample_freq: u64(16),
  sample_type: u64(24),
  read_format: u64(32),
  ...flagFields,
  precise_ip: bits(40, 8, 15, 2),
  wakeup_events: u32(48),
  wakeup_watermark: u32(48),
  bp_type: u32(52),
  bp_addr: u64(56),
  kprobe_func: u64(56),
  uprobe_path: u64(56),
  config1: u64(56),
  bp_len: u64(64),
  kprobe_addr: u64(64),
  probe_offset: u64(64),
  config2: u64(64),
  branch_sample_type: u64(72),
  sample_regs_user: u64(80),
  sample_stack_user: u32(88),
  clockid: s32(92),
  sample_regs_intr: u64(96),
  aux_watermark: u32(104),
  sample_max_stack: u16(108),
  aux_sample_size: u32(112),
  sig_data: u64(120),
});

/** Layouts checked against the C compiler. */
export const PERF_LAYOUTS: readonly Layout[] = [PERF_EVENT_ATTR_LAYOUT];

/** Options of a perf event. Pointer fields (kprobeFunc, uprobePath) are given as strings. */
export interface PerfEventAttrOptions {
  type: number;
  config?: number | bigint;
  samplePeriod?: number | bigint;
  /** Sets sample_freq and the `freq` flag instead of a period. */
  sampleFreq?: number | bigint;
  sampleType?: number | bigint;
  readFormat?: number | bigint;
  flags?: Partial<Record<PerfAttrFlag, boolean>>;
  preciseIp?: number;
  wakeupEvents?: number;
  /** Sets wakeup_watermark and the `watermark` flag. */
  wakeupWatermark?: number;
  bpType?: number;
  config1?: number | bigint;
  config2?: number | bigint;
  /** kprobe PMU: symbol to probe (stored as a pointer in config1). */
  kprobeFunc?: string;
  /** uprobe PMU: binary path (stored as a pointer in config1). */
  uprobePath?: string;
  /** kprobe PMU: offset in the symbol, or the address when kprobeFunc is unset; uprobe PMU: file offset. */
  probeOffset?: number | bigint;
  sampleMaxStack?: number;
}

/** Encodes a perf_event_attr; the result keeps the strings its pointers refer to alive. */
export function encodePerfEventAttr(o: PerfEventAttrOptions): Attr {
  const w = new StructWriter(PERF_EVENT_ATTR_LAYOUT);
  const refs: ArrayBufferView[] = [];
  w.set("type", o.type).set("size", PERF_EVENT_ATTR_LAYOUT.size).set("config", o.config);
  if (o.sampleFreq !== undefined) w.set("sample_freq", o.sampleFreq).set("freq", true);
  else w.set("sample_period", o.samplePeriod);
  w.set("sample_type", o.sampleType).set("read_format", o.readFormat);
  for (const [name, on] of Object.entries(o.flags ?? {})) {
    if (!Object.hasOwn(PERF_ATTR_FLAG_BITS, name)) {
      throw new TsbpfError("INVALID_ARGUMENT", `perf_event_attr: unknown flag "${name}"`);
    }
    if (on) w.set(name as PerfAttrFlag, true);
  }
  w.set("precise_ip", o.preciseIp);
  if (o.wakeupWatermark !== undefined) w.set("wakeup_watermark", o.wakeupWatermark).set("watermark", true);
  else w.set("wakeup_events", o.wakeupEvents);
  w.set("bp_type", o.bpType);
  const pointer = o.kprobeFunc ?? o.uprobePath;
  if (o.kprobeFunc !== undefined && o.uprobePath !== undefined) {
    throw new TsbpfError("INVALID_ARGUMENT", "perf_event_attr: kprobeFunc and uprobePath share config1; set one");
  }
  if (pointer !== undefined) {
    if (o.config1 !== undefined) {
      throw new TsbpfError("INVALID_ARGUMENT", "perf_event_attr: config1 and kprobeFunc/uprobePath share a field");
    }
    const s = cString(pointer);
    refs.push(s);
    w.set("config1", sys().addressOf(s));
  } else {
    w.set("config1", o.config1);
  }
  if (o.probeOffset !== undefined && o.config2 !== undefined) {
    throw new TsbpfError("INVALID_ARGUMENT", "perf_event_attr: config2 and probeOffset share a field");
  }
  w.set("config2", o.probeOffset ?? o.config2);
  w.set("sample_max_stack", o.sampleMaxStack);
  return { cmd: -1, op: "perf_event_open", bytes: w.bytes, refs };
}

/**
 * perf_event_open(2). pid -1 with a cpu ≥ 0 watches every process on that cpu; pid ≥ 0 with cpu -1
 * follows one process. Always adds PERF_FLAG_FD_CLOEXEC.
 */
export function perfEventOpen(
  attr: PerfEventAttrOptions | Attr,
  pid: number,
  cpu: number,
  groupFd = -1,
  flags = 0,
): Fd {
  const encoded = "bytes" in attr ? attr : encodePerfEventAttr(attr);
  const fd = withPinned(encoded.refs, () =>
    sys().perfEventOpen(encoded.bytes, pid, cpu, groupFd, flags | PERF_FLAG.FD_CLOEXEC),
  );
  return new Fd(fd, "perf_event");
}

/** PERF_EVENT_IOC_ENABLE. */
export function perfEventEnable(fd: FdLike): void {
  sys().ioctl(fdValue(fd), PERF_EVENT_IOC.ENABLE, 0);
}

/** PERF_EVENT_IOC_DISABLE. */
export function perfEventDisable(fd: FdLike): void {
  sys().ioctl(fdValue(fd), PERF_EVENT_IOC.DISABLE, 0);
}

/** PERF_EVENT_IOC_SET_BPF: attach a program to a perf event (pre-bpf_link kernels, < 5.15). */
export function perfEventSetBpf(fd: FdLike, progFd: FdLike): void {
  sys().ioctl(
    fdValue(fd),
    PERF_EVENT_IOC.SET_BPF,
    fdValue(progFd),
  );
}

const SYSFS_PMU = "/sys/bus/event_source/devices";

/** The dynamic PMU type of `pmu` ("kprobe", "uprobe"), from sysfs. */
export function pmuType(pmu: string): number {
  const path = join(SYSFS_PMU, pmu, "type");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new TsbpfError("PMU_MISSING", `perf PMU "${pmu}": cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(n)) throw new TsbpfError("PMU_MISSING", `perf PMU "${pmu}": ${path} holds "${text.trim()}"`);
  return n;
}

/** The config bit that makes a kprobe/uprobe PMU event a return probe (format/retprobe, e.g. "config:0"). */
export function pmuRetprobeBit(pmu: string): number {
  const path = join(SYSFS_PMU, pmu, "format", "retprobe");
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (cause) {
    throw new TsbpfError("PMU_MISSING", `perf PMU "${pmu}": cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const m = /^config:(\d+)$/.exec(text);
  if (!m) throw new TsbpfError("PMU_MISSING", `perf PMU "${pmu}": unexpected retprobe format "${text}"`);
  return Number(m[1]);
}

/** The id of tracepoint `category/name` (tracefs events/<category>/<name>/id). */
export function tracepointId(category: string, name: string): number {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) {
    throw new TsbpfError("INVALID_ARGUMENT", `tracepoint "${category}/${name}": invalid name`);
  }
  const path = join(tracefsPath(), "events", category, name, "id");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "TRACEPOINT_MISSING" : "TRACEFS_ERROR";
    throw new TsbpfError(code, `tracepoint "${category}/${name}": cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return Number.parseInt(text.trim(), 10);
}

/** Opens a tracepoint perf event for all processes on `cpu` (or one `pid`). */
export function openTracepoint(category: string, name: string, cpu = 0, pid = -1): Fd {
  return perfEventOpen(
    { type: PERF_TYPE.TRACEPOINT, config: tracepointId(category, name), samplePeriod: 1, wakeupEvents: 1 },
    pid,
    cpu,
  );
}
