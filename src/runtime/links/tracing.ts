// BTF-based tracing attachment (tp_btf, fentry/fexit/fmod_ret, lsm, freplace): the target was fixed at load time
// through attach_btf_id, so attaching is BPF_RAW_TRACEPOINT_OPEN with no name.

import { TsbpfError } from "../../errors.js";
import { rawTracepointOpen } from "../../sys/bpf.js";
import type { Program } from "../program.js";
import { Link } from "./link.js";
import { withOp } from "../map.js";

/** Attach a tracing/LSM program to the kernel function or hook it was loaded for. */
export function attachTracing(prog: Program, cookie?: bigint): Link {
  const description = `${prog.spec.sectionName}`;
  if (prog.spec.type !== "TRACING" && prog.spec.type !== "LSM" && prog.spec.type !== "EXT") {
    throw new TsbpfError("WRONG_PROGRAM_TYPE", `attach program "${prog.name}" (${description}): it is a ${prog.spec.type} program, not TRACING, LSM or EXT`);
  }
  const fd = withOp(`attach program "${prog.name}" (${description})`, () => rawTracepointOpen(null, prog.fd, cookie));
  return new Link(fd, description);
}
