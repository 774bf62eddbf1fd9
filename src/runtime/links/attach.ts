// Picks the attach mechanism from the program's section (tracepoint, raw_tp, tp_btf/fentry/lsm, XDP)
// and the caller's options. One file per hook kind implements each mechanism.

import { TsbpfError } from "../../errors.js";
import type { Program } from "../program.js";
import type { Link } from "./link.js";
import { attachRawTracepoint } from "./raw-tracepoint.js";
import { attachTracepoint } from "./tracepoint.js";
import { attachTracing } from "./tracing.js";
import { attachXdp, type XdpMode } from "./xdp.js";

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
      return attachXdp(prog, opts.interface, opts.xdpMode);
    }
    default:
      throw new TsbpfError("ATTACH_UNSUPPORTED", `attach program "${prog.name}" (section "${spec.sectionName}"): attaching ${spec.attach} programs is not supported yet`);
  }
}
