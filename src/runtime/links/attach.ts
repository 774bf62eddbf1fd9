// Picks the attach mechanism from the program's section (tracepoint, raw_tp, tp_btf/fentry/lsm, XDP)
// and the caller's options. One file per hook kind implements each mechanism.

import { TsbpfError } from "../../errors.js";
import type { Program } from "../program.js";
import type { Fd } from "../../sys/fd.js";
import type { Link } from "./link.js";
import { attachRawTracepoint } from "./raw-tracepoint.js";
import { attachTracepoint } from "./tracepoint.js";
import { attachTracing } from "./tracing.js";
import { attachXdp, type XdpMode } from "./xdp.js";
import { attachKprobe, attachKprobeMulti, parseKprobeTarget, type ProbeMode } from "./kprobe.js";
import { attachUprobe, attachUprobeMulti, parseUprobeTarget } from "./uprobe.js";
import { attachUsdt, parseUsdtTarget } from "./usdt.js";
import { attachTc, type TcAttachOptions } from "./tc.js";
import type { TcDirection } from "./tcx.js";
import { attachNetHook } from "./net-attach.js";
import type { AttachTypeName } from "../../object/sections.js";
import type { BpfMap } from "../map.js";
import type { CgroupMode } from "./cgroup.js";
import type { IterAttachOptions } from "./iter.js";
import type { NetfilterAttachOptions } from "./netfilter.js";
import type { PerfEventAttachOptions } from "./sampling.js";
import type { SkSkbAttach } from "./sockmap.js";
import type { SocketLike } from "./targets.js";

/** Options for {@link Program.attach}; which ones apply depends on the program's hook. */
export interface AttachOptions {
  /** Tracepoint `category/name` or raw tracepoint name, overriding the section's target. */
  readonly target?: string;
  /** XDP: interface name or index. */
  readonly interface?: string | number;
  /** XDP: attach mode (default: let the kernel choose). */
  readonly xdpMode?: XdpMode;
  /** Cookie readable with bpf_get_attach_cookie (tracepoints, raw tracepoints, tracing). */
  readonly cookie?: bigint;
  /** XDP/TC: "link" (BPF link) or "netlink" (RTM_SETLINK / clsact + cls_bpf); default: link where supported. */
  readonly mechanism?: "link" | "netlink";
  /** XDP via netlink: replace the attached program (true: whichever; a program/fd: only that one). */
  readonly replace?: boolean | Program | Fd | number;
  /** TC: ingress or egress (default: from the section, `tcx/egress`). */
  readonly direction?: TcDirection;
  /** TCX links: run before this program/link (`"all"`: first). */
  readonly before?: TcAttachOptions["before"];
  /** TCX links: run after this program/link (`"all"`: last). */
  readonly after?: TcAttachOptions["after"];
  /** TCX links: fail with ESTALE unless the hook is still at this revision. */
  readonly expectedRevision?: number | bigint;
  /** TC netlink filter priority (1..65535) and handle; setting them selects the netlink mechanism. */
  readonly priority?: number;
  readonly handle?: number;
  /** kprobe: kernel function; uprobe: function in `binary` (both override the section's target). */
  readonly symbol?: string;
  /** kprobe: byte offset into the function; uprobe: file offset, or offset into `symbol`. */
  readonly offset?: number | bigint;
  /** kprobe/uprobe: attach as a return probe (default: from the section, e.g. `kretprobe/...`). */
  readonly retprobe?: boolean;
  /** uprobe/uprobe.multi/usdt: executable or library (path, program on PATH, or `libc.so.6`). */
  readonly binary?: string;
  /** uprobe/uprobe.multi/usdt: only this process. */
  readonly pid?: number;
  /** kprobe.multi/uprobe.multi: glob over function names. */
  readonly pattern?: string;
  /** usdt: provider and probe name. */
  readonly usdt?: { readonly provider: string; readonly name: string };
  /** kprobe/uprobe: the perf PMU, tracefs probe events, or whichever exists ("auto"). */
  readonly probeMode?: ProbeMode;
  /** cgroup hooks (and cgroup iterators): the cgroup, as an fd, absolute path or path under the cgroup2 mount. */
  readonly cgroup?: string | number | Fd;
  /** cgroup hooks: a BPF link (default) or BPF_PROG_ATTACH in multi/override/exclusive mode. */
  readonly cgroupMode?: CgroupMode;
  /** cgroup hooks whose section names none (`cgroup/skb`, ...): the attach type, e.g. `CGROUP_INET_EGRESS`. */
  readonly attachType?: AttachTypeName;
  /** socket filter / sk_reuseport: the socket (fd, Fd, or a bound node socket). */
  readonly socket?: SocketLike;
  /** sk_msg / sk_skb: the SOCKMAP/SOCKHASH; bpf_map_elem iterators: the map to walk. */
  readonly map?: BpfMap | Fd | number;
  /** sk_skb from a bare `sk_skb` section: which hook. */
  readonly skb?: SkSkbAttach;
  /** sk_lookup / flow_dissector: network namespace (name, path or fd; default: the current one). */
  readonly netns?: string | number | Fd;
  /** Iterators: task/cgroup parameters (map, tid/pid, cgroup and walk order). */
  readonly iter?: IterAttachOptions;
  /** perf_event programs: sampling frequency or period, event type/config, CPUs. */
  readonly perfEvent?: Omit<PerfEventAttachOptions, "pid" | "cookie">;
  /** netfilter programs: family, hook, priority. */
  readonly netfilter?: NetfilterAttachOptions;
  /** lwt_in/lwt_out/lwt_xmit: destination prefix of the route to add (with `interface`). */
  readonly route?: string;
}

/** Attach `prog` according to its section, e.g. `tracepoint/sched/sched_process_exec`. */
export function attachProgram(prog: Program, opts: AttachOptions): Link {
  const spec = prog.spec;
  const target = opts.target ?? spec.attachTarget;
  switch (spec.attach) {
    case "tracepoint":
      return attachTracepoint(prog, target, opts.cookie);
    case "raw_tracepoint":
      return attachRawTracepoint(prog, target, opts.cookie);
    case "tracing":
    case "lsm":
      return attachTracing(prog, opts.cookie);
    case "xdp": {
      if (opts.interface === undefined) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": XDP needs { interface: "eth0" }`);
      const replace = opts.replace;
      return attachXdp(prog, opts.interface, {
        ...(opts.xdpMode ? { mode: opts.xdpMode } : {}),
        ...(opts.mechanism ? { mechanism: opts.mechanism } : {}),
        ...(replace !== undefined ? { replace } : {}),
      });
    }
    case "tc":
    case "tcx": {
      if (opts.interface === undefined) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}": TC needs { interface: "eth0" }`);
      const fromSection = spec.expectedAttachType === "TCX_EGRESS" ? "egress" : spec.expectedAttachType === "TCX_INGRESS" ? "ingress" : undefined;
      const direction = opts.direction ?? fromSection;
      if (direction === undefined) throw new TsbpfError("ATTACH_NEEDS_TARGET", `attach program "${prog.name}" (section "${spec.sectionName}"): TC needs { direction: "ingress" | "egress" }`);
      return attachTc(prog, opts.interface, direction, {
        ...(opts.mechanism ? { mechanism: opts.mechanism } : {}),
        ...(opts.before !== undefined ? { before: opts.before } : {}),
        ...(opts.after !== undefined ? { after: opts.after } : {}),
        ...(opts.expectedRevision !== undefined ? { expectedRevision: opts.expectedRevision } : {}),
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
        ...(opts.handle !== undefined ? { handle: opts.handle } : {}),
        ...(opts.replace === true ? { replace: true } : {}),
      });
    }
    case "kprobe":
    case "kretprobe":
    case "ksyscall":
    case "kretsyscall": {
      const t = opts.target !== undefined ? parseKprobeTarget(opts.target) : undefined;
      const symbol = opts.symbol ?? t?.symbol;
      const offset = opts.offset ?? (opts.symbol === undefined ? t?.offset : undefined);
      return attachKprobe(prog, {
        ...(symbol !== undefined ? { symbol } : {}), ...(offset !== undefined ? { offset } : {}),
        ...(opts.retprobe !== undefined ? { retprobe: opts.retprobe } : {}),
        ...(opts.cookie !== undefined ? { cookie: opts.cookie } : {}), ...(opts.probeMode ? { mode: opts.probeMode } : {}),
      });
    }
    case "kprobe_multi":
    case "kretprobe_multi": {
      const pattern = opts.pattern ?? opts.target;
      return attachKprobeMulti(prog, { ...(pattern !== undefined ? { pattern } : {}), ...(opts.retprobe !== undefined ? { retprobe: opts.retprobe } : {}) });
    }
    case "uprobe":
    case "uretprobe": {
      const t = opts.target !== undefined ? parseUprobeTarget(opts.target) : undefined;
      const symbol = opts.symbol ?? t?.symbol;
      const offset = opts.offset ?? (opts.symbol === undefined ? t?.offset : undefined);
      const binary = opts.binary ?? t?.binary;
      return attachUprobe(prog, {
        ...(binary !== undefined ? { binary } : {}), ...(symbol !== undefined ? { symbol } : {}),
        ...(offset !== undefined ? { offset } : {}), ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
        ...(opts.retprobe !== undefined ? { retprobe: opts.retprobe } : {}),
        ...(opts.cookie !== undefined ? { cookie: opts.cookie } : {}), ...(opts.probeMode ? { mode: opts.probeMode } : {}),
      });
    }
    case "uprobe_multi":
    case "uretprobe_multi":
      return attachUprobeMulti(prog, {
        ...(opts.binary !== undefined ? { binary: opts.binary } : {}), ...(opts.pattern !== undefined ? { pattern: opts.pattern } : {}),
        ...(opts.pid !== undefined ? { pid: opts.pid } : {}), ...(opts.retprobe !== undefined ? { retprobe: opts.retprobe } : {}),
      });
    case "usdt": {
      const t = opts.target !== undefined ? parseUsdtTarget(opts.target) : undefined;
      const binary = opts.binary ?? t?.binary;
      const provider = opts.usdt?.provider ?? t?.provider;
      const name = opts.usdt?.name ?? t?.name;
      return attachUsdt(prog, {
        ...(binary !== undefined ? { binary } : {}), ...(provider !== undefined ? { provider } : {}), ...(name !== undefined ? { name } : {}),
        ...(opts.pid !== undefined ? { pid: opts.pid } : {}), ...(opts.cookie !== undefined ? { cookie: opts.cookie } : {}),
        ...(opts.probeMode ? { mode: opts.probeMode } : {}),
      });
    }
    case "struct_ops":
      throw new TsbpfError("ATTACH_UNSUPPORTED", `attach program "${prog.name}" (section "${spec.sectionName}"): struct_ops programs are not attached one by one; attach the struct_ops map whose member points at it (coll.structOps(name).attach())`);
    default: {
      const net = attachNetHook(prog, opts);
      if (net) return net;
      throw new TsbpfError("ATTACH_UNSUPPORTED", `attach program "${prog.name}" (section "${spec.sectionName}"): attaching ${spec.attach} programs is not supported yet`);
    }
  }
}
