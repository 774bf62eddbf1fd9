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
import { attachTc, type TcAttachOptions } from "./tc.js";
import type { TcDirection } from "./tcx.js";

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
  /** TCX and cgroup links: run before this program/link (`"all"`: first). */
  readonly before?: TcAttachOptions["before"];
  /** TCX and cgroup links: run after this program/link (`"all"`: last). */
  readonly after?: TcAttachOptions["after"];
  /** TCX and cgroup links: fail with ESTALE unless the hook is still at this revision. */
  readonly expectedRevision?: number | bigint;
  /** TC netlink filter priority (1..65535) and handle; setting them selects the netlink mechanism. */
  readonly priority?: number;
  readonly handle?: number;
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
    default:
      throw new TsbpfError("ATTACH_UNSUPPORTED", `attach program "${prog.name}" (section "${spec.sectionName}"): attaching ${spec.attach} programs is not supported yet`);
  }
}
