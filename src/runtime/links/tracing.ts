// BTF-based tracing attachment (tp_btf, fentry/fexit/fmod_ret, lsm): the target was fixed at load time
// through attach_btf_id, so attaching is BPF_RAW_TRACEPOINT_OPEN with no name.

import { rawTracepointOpen } from "../../sys/bpf.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { withOp } from "../map.js";

/** Attach a tracing/LSM program to the kernel function or hook it was loaded for. */
export function attachTracing(prog: Program, cookie?: bigint): Link {
  const description = `${prog.spec.sectionName}`;
  const fd = withOp(`attach program "${prog.name}" (${description})`, () => rawTracepointOpen(null, prog.fd, cookie));
  return new Link(fd, description);
}
