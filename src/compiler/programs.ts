// Program kinds a kernel program can declare: the `tsbpf/kernel` entry function, its libbpf section,
// its context, and the helper family that decides which helpers it may call.

/** Helper families: which kernel helpers a program kind may use. */
export type HelperFamily = "tracing" | "xdp" | "tc" | "socket" | "cgroup_skb" | "perf_event";

/** How the context argument is accessed. */
export type ContextKind = "tracepoint" | "args" | "pt_regs" | "xdp" | "skb" | "perf_event";

/** One program kind. */
export interface ProgramKind {
  /** The `tsbpf/kernel` function name, e.g. `tracepoint`. */
  readonly entry: string;
  /** Number of leading string arguments (targets) before the handler. */
  readonly targets: number;
  /** Section name from the target arguments. */
  section(targets: readonly string[]): string;
  readonly context: ContextKind;
  readonly family: HelperFamily;
  /** Whether packet data can be read directly (XDP, TC) or only through skb_load_bytes. */
  readonly directPacket?: boolean;
  /** Whether packet data may be written directly. */
  readonly writablePacket?: boolean;
  /**
   * Whether the kernel types the arguments from BTF (tp_btf, fentry/fexit, LSM): kernel pointers from
   * `ctx.args` and the current task are trusted BTF pointers, read with direct loads instead of probe reads.
   */
  readonly btfPointers?: boolean;
}

const kinds: ProgramKind[] = [
  { entry: "tracepoint", targets: 1, section: ([t]) => `tracepoint/${t}`, context: "tracepoint", family: "tracing" },
  { entry: "rawTracepoint", targets: 1, section: ([t]) => `raw_tp/${t}`, context: "args", family: "tracing" },
  { entry: "btfTracepoint", targets: 1, section: ([t]) => `tp_btf/${t}`, context: "args", family: "tracing", btfPointers: true },
  { entry: "kprobe", targets: 1, section: ([t]) => (t ? `kprobe/${t}` : "kprobe"), context: "pt_regs", family: "tracing" },
  { entry: "kretprobe", targets: 1, section: ([t]) => (t ? `kretprobe/${t}` : "kretprobe"), context: "pt_regs", family: "tracing" },
  { entry: "uprobe", targets: 1, section: ([t]) => (t ? `uprobe/${t}` : "uprobe"), context: "pt_regs", family: "tracing" },
  { entry: "uretprobe", targets: 1, section: ([t]) => (t ? `uretprobe/${t}` : "uretprobe"), context: "pt_regs", family: "tracing" },
  { entry: "fentry", targets: 1, section: ([t]) => `fentry/${t}`, context: "args", family: "tracing", btfPointers: true },
  { entry: "fexit", targets: 1, section: ([t]) => `fexit/${t}`, context: "args", family: "tracing", btfPointers: true },
  { entry: "lsm", targets: 1, section: ([t]) => `lsm/${t}`, context: "args", family: "tracing", btfPointers: true },
  { entry: "xdp", targets: 0, section: () => "xdp", context: "xdp", family: "xdp", directPacket: true, writablePacket: true },
  { entry: "tc", targets: 0, section: () => "tc", context: "skb", family: "tc", directPacket: true, writablePacket: true },
  { entry: "socketFilter", targets: 0, section: () => "socket", context: "skb", family: "socket" },
  { entry: "cgroupSkb", targets: 1, section: ([t]) => `cgroup_skb/${t}`, context: "skb", family: "cgroup_skb", directPacket: true },
  { entry: "perfEvent", targets: 0, section: () => "perf_event", context: "perf_event", family: "perf_event" },
];

/** Program kinds by entry function name. */
export const PROGRAM_KINDS: ReadonlyMap<string, ProgramKind> = new Map(kinds.map((k) => [k.entry, k]));

/** Families where tracing-only helpers (current task, probe reads...) are allowed. */
export const TRACING: readonly HelperFamily[] = ["tracing", "perf_event"];
/** Every family. */
export const ALL: readonly HelperFamily[] = ["tracing", "perf_event", "xdp", "tc", "socket", "cgroup_skb"];

/** struct xdp_md fields: name → [offset, size]. */
export const XDP_MD: Readonly<Record<string, readonly [number, 4]>> = {
  data: [0, 4], dataEnd: [4, 4], dataMeta: [8, 4], ingressIfindex: [12, 4], rxQueueIndex: [16, 4], egressIfindex: [20, 4],
};

/** struct __sk_buff fields: name → [offset, size, writable]. */
export const SK_BUFF: Readonly<Record<string, readonly [number, 4, boolean]>> = {
  len: [0, 4, false], pktType: [4, 4, false], mark: [8, 4, true], queueMapping: [12, 4, false], protocol: [16, 4, false],
  vlanPresent: [20, 4, false], vlanTci: [24, 4, false], vlanProto: [28, 4, false], priority: [32, 4, true],
  ingressIfindex: [36, 4, false], ifindex: [40, 4, false], tcIndex: [44, 4, true], hash: [68, 4, false],
  tcClassid: [72, 4, true], data: [76, 4, false], dataEnd: [80, 4, false], napiId: [84, 4, false], family: [88, 4, false],
  remoteIp4: [92, 4, false], localIp4: [96, 4, false], remotePort: [132, 4, false], localPort: [136, 4, false],
};

/** x86-64 struct pt_regs offsets of the argument registers (di, si, dx, cx, r8, r9) and ax. */
export const PT_REGS_X86 = { args: [112, 104, 96, 88, 72, 64], ret: 80 } as const;

/** struct bpf_perf_event_data (x86-64) fields after the saved registers: name → offset (u64 each). */
export const PERF_EVENT_DATA: Readonly<Record<string, number>> = { samplePeriod: 168, addr: 176 };
